// The operator's changes (pause, resume, requeue, requeue all dead, cancel, delete; a schedule's pause, resume, trigger): asked first, answered in the notice.

import { $, element, notify } from './dom.js';
import { api, enc } from './api.js';
import { applySettings, scheduleReconcile } from './queues.js';
import { loadTask } from './task-view.js';
import { page } from './state.js';
import { reloadList } from './queue-view.js';
import { scheduleActions } from './schedules.js';

const confirmation = { resolve: null };

export function confirmAction(message) {
  const dialog = $('#confirm-dialog');
  $('#confirm-message').textContent = message;
  dialog.showModal();
  $('#confirm-cancel').focus();
  return new Promise((resolve) => { confirmation.resolve = resolve; });
}

export function setUpConfirm() {
  const dialog = $('#confirm-dialog');
  const finish = (answer) => {
    if (dialog.open) dialog.close();
    const resolve = confirmation.resolve;
    confirmation.resolve = null;
    if (resolve) resolve(answer);
  };
  $('#confirm-ok').addEventListener('click', () => finish(true));
  $('#confirm-cancel').addEventListener('click', () => finish(false));
  dialog.addEventListener('close', () => finish(false));
}

/** The operator's changes: each asks first, then shows the answer or the problem's detail. */
export const actions = {
  pause: {
    label: 'Pause', ask: (q) => `Pause queue ${q}? Workers start none of its tasks until it is resumed.`,
    run: (q) => api('POST', `/queues/${enc(q)}/pause`),
    done: (q) => `Queue ${q} paused.`,
    after: (q, answer) => applySettings(q, answer),
  },
  resume: {
    label: 'Resume', ask: (q) => `Resume queue ${q}?`,
    run: (q) => api('POST', `/queues/${enc(q)}/resume`),
    done: (q) => `Queue ${q} resumed.`,
    after: (q, answer) => applySettings(q, answer),
  },
  'requeue-all-dead': {
    label: 'Requeue all dead', ask: (q) => `Put every dead task of ${q} back to pending, retries reset?`,
    run: (q) => api('POST', `/queues/${enc(q)}/dead/requeue`),
    done: (q, answer) => `${answer.requeued} dead task(s) of ${q} requeued` +
      (answer.dead_remaining ? `, ${answer.dead_remaining} left.` : '.'),
    after: (q) => { scheduleReconcile(q, 0); reloadList(); },
  },
  requeue: {
    label: 'Requeue', ask: (id) => `Requeue dead task ${id}? It runs next, with its retries reset.`,
    run: (id) => api('POST', `/tasks/${enc(id)}/requeue`),
    done: (id) => `Task ${id} requeued.`,
    after: (id) => taskChanged(id),
  },
  cancel: {
    label: 'Cancel', ask: (id) => `Cancel task ${id}? A waiting task never runs; a running one is stopped.`,
    run: (id) => api('POST', `/tasks/${enc(id)}/cancel`),
    done: (id) => `Task ${id} cancelled.`,
    after: (id) => taskChanged(id),
  },
  delete: {
    label: 'Delete', ask: (id) => `Delete task ${id} and its record? This cannot be undone.`,
    run: (id) => api('DELETE', `/tasks/${enc(id)}`),
    done: (id) => `Task ${id} deleted.`,
    after: (id) => taskChanged(id),
  },
  ...scheduleActions,
};

/** An admin button, or nothing for a read-only token (the control is left out, not just refused). */
export function actionButton(name, target, kind) {
  if (!page.admin) return null;
  const action = actions[name];
  const attributes = { type: 'button', className: `action ${name}`, 'data-action': name };
  attributes[kind === 'queue' ? 'data-queue' : 'data-task'] = target;
  attributes['aria-label'] = `${action.label} ${kind} ${target}`;
  return element('button', attributes, action.label);
}

export async function perform(name, target) {
  const action = actions[name];
  if (!(await confirmAction(action.ask(target)))) return;
  try {
    const answer = await action.run(target);
    notify('ok', action.done(target, answer || {}));
    action.after(target, answer || {});
  } catch (error) {
    notify('error', error.message);
  }
}

export function setUpActions() {
  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    perform(button.dataset.action, button.dataset.queue || button.dataset.task || button.dataset.schedule);
  });
}

export function taskChanged(id) {
  const queue = id.slice(0, id.lastIndexOf('.'));
  scheduleReconcile(queue, 0);
  if (page.list && page.list.queue === queue) reloadList();
  if (page.task && page.task.id === id) loadTask(id);
}

/** What an operator may do to a task in a state, as the API allows it. */
export function allowedActions(state) {
  const allowed = [];
  if (state === 'dead') allowed.push('requeue');
  if (['waiting', 'pending', 'scheduled', 'retrying', 'active'].includes(state)) allowed.push('cancel');
  if (state && state !== 'active') allowed.push('delete');
  return allowed;
}
