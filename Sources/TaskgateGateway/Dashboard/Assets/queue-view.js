// One queue's tasks in one state, paged and filtered, kept true to the events.

import { $, $$, element, notify, time } from './dom.js';
import { STATES, page } from './state.js';
import { actionButton, allowedActions } from './actions.js';
import { api, enc } from './api.js';
import { cell, loadQueues, reloadQueue } from './queues.js';

const TASK_PAGE = 50;

export function openQueue(queue, state) {
  const same = page.list && page.list.queue === queue && page.list.state === state;
  if (!same) {
    page.list = { queue, state, type: '', error: '', cursor: null, ids: new Set() };
    $('#filter-type').value = '';
    $('#filter-error').value = '';
  }
  $('#queue-view').hidden = false;
  renderQueueHead();
  if (!page.queues.has(queue)) reloadQueue(queue).catch((error) => notify('error', error.message));
  if (!same) reloadList();
}

export function renderQueueHead() {
  const list = page.list;
  const summary = page.queues.get(list.queue);
  $('#queue-title').textContent = `Queue ${list.queue}`;
  const actionsBox = $('#queue-actions');
  actionsBox.replaceChildren();
  if (summary) {
    actionsBox.append(element('span', { className: summary.paused ? 'badge paused' : 'badge running' },
      summary.paused ? 'paused' : 'running'));
    const button = actionButton(summary.paused ? 'resume' : 'pause', list.queue, 'queue');
    if (button) actionsBox.append(button);
  }
  for (const tab of $$('[data-state-tab]')) {
    const selected = tab.dataset.stateTab === list.state;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $('.count', tab).textContent = summary ? `(${summary.depths[tab.dataset.stateTab]})` : '';
  }
  const dead = $('#dead-actions');
  dead.replaceChildren();
  if (list.state === 'dead' && summary && summary.depths.dead > 0) {
    const button = actionButton('requeue-all-dead', list.queue, 'queue');
    if (button) dead.append(button);
  }
  for (const link of $$('#queue-table th a')) {
    if (link.textContent === list.queue) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Reads the first page of the shown state again (after a filter or an action). */
export async function reloadList() {
  const list = page.list;
  if (!list) return;
  list.cursor = null;
  list.ids = new Set();
  $('#task-table tbody').replaceChildren();
  await loadMoreTasks();
}

/**
 * Reads the next page of tasks (GET /queues/{queue}/tasks): at most 50 index entries and their records; with a
 * filter, at most 1,000 records examined.
 */
export async function loadMoreTasks() {
  const list = page.list;
  if (!list) return;
  let path = `/queues/${enc(list.queue)}/tasks?state=${list.state}&limit=${TASK_PAGE}`;
  if (list.type) path += `&type=${enc(list.type)}`;
  if (list.error) path += `&error=${enc(list.error)}`;
  if (list.cursor) path += `&cursor=${enc(list.cursor)}`;
  let answer;
  try {
    answer = await api('GET', path);
  } catch (error) {
    notify('error', error.message);
    return;
  }
  if (page.list !== list) return; // The operator moved on meanwhile.
  const body = $('#task-table tbody');
  for (const task of answer.tasks) {
    if (list.ids.has(task.id)) continue;
    list.ids.add(task.id);
    body.append(taskRow(task));
  }
  list.cursor = answer.next_cursor;
  $('#tasks-more').hidden = !list.cursor;
  $('#tasks-empty').hidden = list.ids.size > 0;
}

export function taskRow(task) {
  const cells = [
    element('th', { scope: 'row', 'data-field': 'id', 'data-label': 'Task' },
      element('a', { href: `#/tasks/${enc(task.id)}`, className: 'mono' }, task.id)),
    cell('type', 'Type', task.type || '-'),
    cell('state', 'State', task.state || '-', `state ${task.state || ''}`),
    cell('attempts', 'Attempts', String(task.attempts), 'num'),
    cell('retries', 'Retries', String(task.retries), 'num'),
    cell('last_error', 'Last error', task.last_error || '-', 'error-text'),
    cell('updated_at', 'Updated', time(task.updated_at)),
  ];
  if (page.admin) {
    const box = element('div', { className: 'actions' });
    for (const name of allowedActions(task.state)) box.append(actionButton(name, task.id, 'task'));
    cells.push(cell('actions', 'Actions', box, 'admin-col'));
  }
  return element('tr', { 'data-task': task.id }, ...cells);
}

/** Keeps the shown list true to the events: a task leaves when it leaves the state, a new one comes in on top. */
export function listEvent(name, event) {
  const list = page.list;
  if (!list || list.queue !== event.queue || !event.id) return;
  const row = $(`#task-table tr[data-task="${CSS.escape(event.id)}"]`);
  if (name === 'deleted' || event.state !== list.state) {
    if (row) {
      row.remove();
      list.ids.delete(event.id);
      $('#tasks-empty').hidden = list.ids.size > 0;
    }
    return;
  }
  if (list.type && event.type !== list.type) return;
  if (list.error && !(event.error || '').toLowerCase().includes(list.error.toLowerCase())) return;
  const task = {
    id: event.id, type: event.type, state: event.state, attempts: event.attempt, retries: event.retries,
    last_error: event.error || (row ? $('[data-field="last_error"]', row).textContent : null),
    updated_at: event.at,
  };
  const fresh = taskRow(task);
  if (row) {
    row.replaceWith(fresh);
  } else {
    list.ids.add(event.id);
    $('#task-table tbody').prepend(fresh);
    $('#tasks-empty').hidden = true;
  }
}

export function setUpQueueView() {
  $('#state-tabs').addEventListener('click', (event) => {
    const tab = event.target.closest('[data-state-tab]');
    if (tab && page.list) location.hash = `#/queues/${enc(page.list.queue)}/${tab.dataset.stateTab}`;
  });
  $('#state-tabs').addEventListener('keydown', (event) => {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key) || !page.list) return;
    event.preventDefault();
    const index = STATES.indexOf(page.list.state);
    let next = index;
    if (event.key === 'ArrowLeft') next = (index + STATES.length - 1) % STATES.length;
    if (event.key === 'ArrowRight') next = (index + 1) % STATES.length;
    if (event.key === 'Home') next = 0;
    if (event.key === 'End') next = STATES.length - 1;
    location.hash = `#/queues/${enc(page.list.queue)}/${STATES[next]}`;
    $(`[data-state-tab="${STATES[next]}"]`).focus();
  });
  $('#filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!page.list) return;
    page.list.type = $('#filter-type').value.trim();
    page.list.error = $('#filter-error').value.trim();
    reloadList();
  });
  $('#filter-form').addEventListener('reset', () => {
    if (!page.list) return;
    page.list.type = '';
    page.list.error = '';
    setTimeout(reloadList, 0);
  });
  $('#tasks-more').addEventListener('click', () => loadMoreTasks());
  $('#queues-more').addEventListener('click', () => {
    page.queueLimit += 100;
    loadQueues().catch((error) => notify('error', error.message));
  });
}

/** Closes the queue view and forgets its rows and actions. */
export function closeQueue() {
  page.list = null;
  $('#queue-view').hidden = true;
  $('#queue-actions').replaceChildren();
  $('#dead-actions').replaceChildren();
  $('#task-table tbody').replaceChildren();
  $('#tasks-more').hidden = true;
  $('#tasks-empty').hidden = true;
}
