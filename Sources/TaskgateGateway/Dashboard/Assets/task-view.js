// One task: its record (with its parents, children and batch when it is in a workflow) and its events as a
// timeline, live from GET /tasks/{id}/events.

import { $, element, jsonText, notify, pretty, time } from './dom.js';
import { EventReader } from './event-reader.js';
import { FINAL, page } from './state.js';
import { actionButton, allowedActions } from './actions.js';
import { api, enc } from './api.js';

export function openTask(id) {
  if (page.task && page.task.id === id) return;
  closeTask();
  page.task = { id, stream: null, record: null, final: false };
  $('#task-view').hidden = false;
  $('#task-title').textContent = `Task ${id}`;
  $('#task-timeline').replaceChildren();
  renderTask(null);
  const task = page.task;
  task.stream = new EventReader(`/tasks/${enc(id)}/events`, {
    onOpen: () => { $('#task-live').textContent = 'live'; },
    onDrop: (error) => {
      if (page.task !== task) return;
      if (error && error.status === 404) {
        $('#task-live').textContent = '';
        $('#task-state').textContent = 'unknown';
        notify('error', error.message);
        return;
      }
      $('#task-live').textContent = task.final ? 'final' : 'reconnecting';
    },
    // The gateway ends the stream of a finished task; it is opened again only while the task may still change.
    reconnect: () => !task.final,
    onEvent: (name, data) => taskEvent(task, name, data),
  });
}

/** Closes the task view and forgets what it showed (a later token may not be allowed its actions). */
export function closeTask() {
  if (page.task && page.task.stream) page.task.stream.close();
  page.task = null;
  $('#task-view').hidden = true;
  $('#task-title').textContent = 'Task';
  $('#task-timeline').replaceChildren();
  $('#task-live').textContent = '';
  renderTask(null);
}

export function taskEvent(task, name, data) {
  if (page.task !== task) return;
  const timeline = $('#task-timeline');
  if (name === 'snapshot') {
    // A reconnect starts with a snapshot again: the events before it are kept, the snapshot marks the gap.
    // Only GET /tasks/{id} reads a task's children: those already shown stay until that read answers.
    if (data.children === undefined && task.record && task.record.children !== undefined) {
      data.children = task.record.children;
      data.children_count = task.record.children_count;
    }
    task.record = data;
    renderTask(data);
    timeline.append(timelineItem('snapshot', data.state, data.updated_at, 'read: ' + data.state));
    loadTask(task.id);
  } else {
    const details = [];
    if (data.attempt) details.push(`attempt ${data.attempt}`);
    if (data.error) details.push(data.error);
    if (data.run_at) details.push(`runs at ${time(data.run_at)}`);
    if (data.was) details.push(`was ${data.was}`);
    timeline.append(timelineItem(name, data.state, data.at, details.join(' · ')));
    if (task.record) {
      task.record.state = data.state;
      renderTask(task.record);
    }
    loadTask(task.id);
  }
  task.final = FINAL.has(data.state) || name === 'deleted';
  if (task.final) $('#task-live').textContent = 'final';
}

export function timelineItem(name, state, at, detail) {
  return element('li', { 'data-event': name },
    element('span', { className: `event ${name}` }, name),
    element('time', {}, time(at)),
    detail ? element('span', { className: 'detail' }, detail) : null);
}

/** Reads the open task's record again (GET /tasks/{id}): one read of its hash. */
export async function loadTask(id) {
  try {
    const record = await api('GET', `/tasks/${enc(id)}`);
    if (page.task && page.task.id === id) {
      page.task.record = record;
      renderTask(record);
    }
  } catch (error) {
    if (page.task && page.task.id === id && error.status === 404) {
      $('#task-state').textContent = 'deleted';
      $('#task-actions').replaceChildren();
    }
  }
}

export function renderTask(record) {
  $('#task-state').textContent = record ? record.state : '-';
  $('#task-state').className = record ? `state ${record.state}` : '';
  const fields = $('#task-fields');
  const times = $('#task-times');
  fields.replaceChildren();
  times.replaceChildren();
  $('#task-payload').textContent = record ? pretty(record.payload) : '-';
  // The result is any JSON value; a succeeded task's null result is shown as null, not as "none yet".
  const result = !record ? '-' : record.state === 'succeeded' ? jsonText(record.result) : pretty(record.result);
  $('#task-result').textContent = result;
  $('#task-error').textContent = record && record.last_error ? record.last_error : '-';
  const actionsBox = $('#task-actions');
  actionsBox.replaceChildren();
  if (!record) return;
  const queue = record.queue;
  const rows = [
    ['Queue', element('a', { href: `#/queues/${enc(queue)}` }, queue)],
    ['Type', record.type || '-'],
    ['Attempts', String(record.attempts)],
    ['Retries', `${record.retries} of ${record.max_retries}`],
    ['Timeout', record.timeout_seconds === null ? 'none' : `${record.timeout_seconds} s`],
  ];
  if (record.callback) rows.push(['Callback', `${record.callback.state} (${record.callback.tries} tries)`]);
  rows.push(...workflowRows(record));
  for (const [term, value, name] of rows) {
    fields.append(element('dt', {}, term), element('dd', { 'data-field': name || null }, value));
  }
  const timeRows = [['Created', record.created_at], ['Run at', record.run_at], ['Started', record.started_at],
    ['Finished', record.finished_at], ['Updated', record.updated_at]];
  if (record.expires_at) timeRows.push(['Expires', record.expires_at, 'expires_at']);
  for (const [term, value, name] of timeRows) {
    times.append(element('dt', {}, term), element('dd', { 'data-field': name || null }, time(value)));
  }
  for (const name of allowedActions(record.state)) {
    const button = actionButton(name, record.id, 'task');
    if (button) actionsBox.append(button);
  }
}

/** A link to a task's page, or to a batch's for `batch:<id>` (a whole batch as a parent). */
export function idLink(id) {
  const text = String(id);
  const href = text.startsWith('batch:') ? `#/batches/${enc(text.slice(6))}` : `#/tasks/${enc(text)}`;
  return element('a', { href, className: 'mono' }, text);
}

function linkList(name, ids) {
  return element('ul', { className: 'id-list', 'data-list': name }, ...ids.map((id) => element('li', {}, idLink(id))));
}

/** The workflow fields of a task's record, each only when the record has it: [term, value, data-field]. */
export function workflowRows(record) {
  const rows = [];
  if (Array.isArray(record.after) && record.after.length > 0) {
    rows.push(['Parents', linkList('after', record.after), 'after']);
    if (record.on_parent_failure) rows.push(['On parent failure', record.on_parent_failure, 'on_parent_failure']);
  }
  if (typeof record.waiting_for === 'number') {
    rows.push(['Waiting for', `${record.waiting_for} parent${record.waiting_for === 1 ? '' : 's'}`, 'waiting_for']);
  }
  if (record.batch) {
    rows.push(['Batch', element('a', { href: `#/batches/${enc(record.batch)}`, className: 'mono' }, record.batch),
      'batch']);
  }
  // GET /tasks/{id} shows up to 100 children (sorted) and how many there are in all.
  if (Array.isArray(record.children)) {
    const count = typeof record.children_count === 'number' ? record.children_count : record.children.length;
    const shown = record.children.length < count
      ? `${count} in all, ${record.children.length} shown` : `${count} in all`;
    rows.push(['Children', element('div', {}, element('span', { 'data-field': 'children_count' }, shown),
      record.children.length > 0 ? linkList('children', record.children) : null), 'children']);
  }
  return rows;
}
