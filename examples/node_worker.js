#!/usr/bin/env node
// A Taskgate persistent worker in Node.js (20 or later, standard library only).
//
//     taskgate worker --exec-persistent 'node examples/node_worker.js' --concurrency 256 --processes 2
//
// Taskgate writes one JSON task per line on stdin; this answers one JSON line per task on stdout (writes to a
// pipe are synchronous on Linux, so each answer leaves at once). Replace handle() with your own work: it may
// return a value or a Promise; the value (any JSON) becomes the task's result as it is, a throw or a rejection
// fails the attempt (its message becomes last_error, and Taskgate retries with backoff). Several tasks are in
// flight at once, and answers of async handlers may go out in any order: Taskgate matches them by id. Logs go to
// stderr.
'use strict';
const readline = require('node:readline');

// task: {id, type, queue, attempt, retries, payload}. A no-op demo: echoes the payload, and fails when the
// payload is an object with "fail": true.
function handle(task) {
  const payload = task.payload;
  if (payload !== null && typeof payload === 'object' && payload.fail === true) {
    throw new Error('payload asked to fail');
  }
  return { echo: payload };
}

function answer(reply) {
  process.stdout.write(JSON.stringify(reply) + '\n');
}

function failure(id, error) {
  const message = (error && error.message) || String(error) || 'error';
  // Without an id (the line was not JSON), Taskgate takes the answer for its oldest task in flight.
  return id === undefined ? { ok: false, error: message } : { id, ok: false, error: message };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  let id;
  let result;
  try {
    const task = JSON.parse(line);
    // --cancel-lines: stop that task; this one runs a task at a time, so it is over already.
    if ('cancel' in task) return;
    id = task.id;
    result = handle(task);
  } catch (error) {
    answer(failure(id, error));
    return;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    result.then((value) => answer({ id, ok: true, result: value === undefined ? null : value }),
      (error) => answer(failure(id, error)));
  } else {
    answer({ id, ok: true, result: result === undefined ? null : result });
  }
});
// When stdin closes, readline closes; the process exits once pending async handlers have answered.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0); // Taskgate is gone
  throw error;
});
