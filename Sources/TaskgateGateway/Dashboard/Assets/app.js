// Taskgate's dashboard: the queues, their tasks and each task's events, live, through the public HTTP API only.
// This module routes by URL hash and starts and stops the page's reads and streams.
//
// No framework and no build step: ES modules, each file one concern, served by the gateway from its binary. The
// page reads events with fetch() and a stream reader instead of EventSource, so that the API token travels in the
// Authorization header and never in a URL. One stream (GET /events) carries every shown queue's events, so the
// page holds at most two streams (that one and an open task's or batch's), well under a browser's six connections
// to a host.

import { $, $$, notify } from './dom.js';
import { STATES, page } from './state.js';
import { api, enc } from './api.js';
import { askForToken, setUpToken, signIn } from './token.js';
import { loadQueues, oldestText, renderQueues, startFallback, stopFallback } from './queues.js';
import { closeQueue, openQueue, setUpQueueView } from './queue-view.js';
import { closeTask, openTask } from './task-view.js';
import { closeBatch, openBatch } from './batch-view.js';
import { setUpActions, setUpConfirm } from './actions.js';
import { startSchedules, stopSchedules } from './schedules.js';

// New queues appear without an event (nothing of theirs is followed yet): the list is read again this often.
const QUEUE_LIST_MS = 30000;

export function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const parts = hash.split('/').map((part) => decodeURIComponent(part));
  if (parts[0] === 'tasks' && parts[1]) {
    closeQueue();
    closeBatch();
    openTask(parts[1]);
  } else if (parts[0] === 'batches' && parts[1]) {
    closeQueue();
    closeTask();
    openBatch(parts[1]);
  } else if (parts[0] === 'queues' && parts[1]) {
    closeTask();
    closeBatch();
    openQueue(parts[1], STATES.includes(parts[2]) ? parts[2] : 'pending');
  } else {
    closeTask();
    closeBatch();
    closeQueue();
    renderQueues();
  }
}

export function setUpSearch() {
  $('#search-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const id = $('#search-input').value.trim();
    if (!id) return;
    // A task id is <queue>.<32 hex>; a batch id is the 32 hex digits alone (or batch:<id>, as after names it).
    const batch = /^(?:batch:)?([0-9a-f]{32})$/.exec(id);
    const path = batch ? `/batches/${batch[1]}` : `/tasks/${enc(id)}`;
    try {
      await api('GET', path);
    } catch (error) {
      notify('error', error.message);
      return;
    }
    location.hash = batch ? `#/batches/${batch[1]}` : `#/tasks/${enc(id)}`;
  });
}

// ---------------------------------------------------------------------------------------------- start and stop

let ticker = null;

export async function start() {
  try {
    await loadQueues();
  } catch (error) {
    if (error.status !== 401) {
      notify('error', error.message);
      startFallback();
    }
    return;
  }
  route();
  startSchedules();
  document.body.dataset.ready = 'true';
  clearInterval(page.listTimer);
  page.listTimer = setInterval(() => { loadQueues().catch(() => {}); }, QUEUE_LIST_MS);
  // The oldest pending task ages between reads: its cell counts on by itself.
  clearInterval(ticker);
  ticker = setInterval(() => {
    for (const row of $$('#queue-table tr[data-queue]')) {
      const summary = page.queues.get(row.dataset.queue);
      const oldest = $('[data-field="oldest"]', row);
      if (summary && oldest) oldest.textContent = oldestText(summary);
    }
  }, 1000);
}

export function stop() {
  document.body.dataset.ready = 'false';
  document.body.dataset.admin = 'false';
  page.admin = false;
  if (page.queueStream) page.queueStream.close();
  page.queueStream = null;
  page.streamQueues = '';
  stopFallback();
  clearInterval(page.unfollowedTimer);
  page.unfollowedTimer = null;
  page.queueLimit = 100;
  clearInterval(page.listTimer);
  clearInterval(ticker);
  stopSchedules();
  $('#schedule-table tbody').replaceChildren();
  for (const entry of page.reconcile.values()) clearTimeout(entry.timer);
  page.reconcile.clear();
  closeTask();
  closeBatch();
  closeQueue();
  page.queues = new Map();
  page.order = [];
  $('#queue-table tbody').replaceChildren();
  $('#sign-out').hidden = true;
}

async function main() {
  setUpToken();
  setUpConfirm();
  setUpActions();
  setUpQueueView();
  setUpSearch();
  window.addEventListener('hashchange', () => { if (document.body.dataset.ready === 'true') route(); });
  if (await signIn()) start();
  else if (!page.token) askForToken('');
}

main();
