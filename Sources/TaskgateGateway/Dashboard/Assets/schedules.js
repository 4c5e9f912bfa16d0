// The schedules on the home page: each one's cron, zone, queue, state, next and last run and counts, read with
// GET /schedules (one page of the names, no scan of anything) every few seconds while the page shows them, and
// the operator's pause, resume and trigger buttons (for an admin token only).

import { $, $$, element, time } from './dom.js';
import { api, enc } from './api.js';
import { page } from './state.js';

// A schedule's runs come from workers, not from the event stream: its row is read again this often.
const SCHEDULE_LIST_MS = 3000;
const PAGE = 100;

let timer = null;

/** Reads the first page of schedules and shows them; `more` says that there are others past it. */
export async function loadSchedules() {
  const answer = await api('GET', `/schedules?limit=${PAGE}`);
  renderSchedules(answer.schedules || [], !!answer.next_cursor);
}

export function startSchedules() {
  stopSchedules();
  loadSchedules().catch(() => {});
  timer = setInterval(() => { loadSchedules().catch(() => {}); }, SCHEDULE_LIST_MS);
}

export function stopSchedules() {
  clearInterval(timer);
  timer = null;
}

function cell(field, label, text) {
  return element('td', { 'data-field': field, 'data-label': label }, text);
}

function actionButton(name, label, schedule) {
  return element('button', {
    type: 'button', className: `action ${name}`, 'data-action': name, 'data-schedule': schedule,
    'aria-label': `${label} schedule ${schedule}`,
  }, label);
}

/** Fills the table in name order, a row per schedule, updated in place so a focused button keeps its focus. */
export function renderSchedules(schedules, more) {
  const body = $('#schedule-table tbody');
  const rows = new Map($$('tr[data-schedule]', body).map((row) => [row.dataset.schedule, row]));
  let previous = null;
  for (const schedule of schedules) {
    let row = rows.get(schedule.name);
    rows.delete(schedule.name);
    if (!row) {
      row = element('tr', { 'data-schedule': schedule.name });
      row.append(element('th', { scope: 'row', 'data-field': 'name', 'data-label': 'Schedule' }, schedule.name));
      for (const [field, label] of [['cron', 'Cron'], ['timezone', 'Zone'], ['queue', 'Queue'], ['state', 'State'],
        ['next', 'Next run'], ['last', 'Last run'], ['runs', 'Runs'], ['missed', 'Missed']]) {
        row.append(cell(field, label, null));
      }
      if (page.admin) row.append(element('td', { 'data-field': 'actions', 'data-label': 'Actions', className: 'admin-col' }));
    }
    fillRow(row, schedule);
    const expected = previous ? previous.nextSibling : body.firstChild;
    if (expected !== row) body.insertBefore(row, expected);
    previous = row;
  }
  for (const row of rows.values()) row.remove();
  $('#schedules-empty').hidden = schedules.length > 0;
  $('#schedules-more').hidden = !more;
}

function fillRow(row, schedule) {
  const set = (field, text) => {
    const target = $(`[data-field="${field}"]`, row);
    if (target && target.textContent !== text) target.textContent = text;
  };
  set('cron', schedule.cron);
  set('timezone', schedule.timezone);
  set('queue', schedule.task.queue);
  set('state', schedule.paused ? 'paused' : 'running');
  set('next', schedule.paused ? '-' : time(schedule.next_run));
  set('runs', String(schedule.runs));
  const missed = schedule.recent_misses && schedule.recent_misses[0];
  set('missed', missed ? `${schedule.missed} (last: ${missed.count} ${missed.reason})` : String(schedule.missed));
  const last = $('[data-field="last"]', row);
  const run = schedule.last_run;
  const id = run ? run.task_id : '';
  if (last.dataset.task !== id) {
    last.dataset.task = id;
    last.replaceChildren(run
      ? element('a', { href: `#/tasks/${enc(run.task_id)}`, title: `task ${run.task_id} (${run.kind})` },
        time(run.tick))
      : '-');
  }
  const actions = $('[data-field="actions"]', row);
  if (actions) {
    const wanted = schedule.paused ? 'schedule-resume' : 'schedule-pause';
    if (!$(`button[data-action="${wanted}"]`, actions)) {
      actions.replaceChildren(
        schedule.paused ? actionButton('schedule-resume', 'Resume', schedule.name)
          : actionButton('schedule-pause', 'Pause', schedule.name),
        actionButton('schedule-trigger', 'Trigger', schedule.name));
    }
  }
}

/** The operator's changes to a schedule, in the shape of actions.js' table. */
export const scheduleActions = {
  'schedule-pause': {
    label: 'Pause', ask: (name) => `Pause schedule ${name}? No tick fires until it is resumed.`,
    run: (name) => api('POST', `/schedules/${enc(name)}/pause`),
    done: (name) => `Schedule ${name} paused.`,
    after: () => loadSchedules().catch(() => {}),
  },
  'schedule-resume': {
    label: 'Resume',
    ask: (name) => `Resume schedule ${name}? Ticks of the pause count as missed; under misfire skip the latest fires once.`,
    run: (name) => api('POST', `/schedules/${enc(name)}/resume`),
    done: (name) => `Schedule ${name} resumed.`,
    after: () => loadSchedules().catch(() => {}),
  },
  'schedule-trigger': {
    label: 'Trigger', ask: (name) => `Fire schedule ${name} now? One task is created from its template.`,
    run: (name) => api('POST', `/schedules/${enc(name)}/trigger`),
    done: (name, answer) => `Schedule ${name} fired: task ${answer.id}.`,
    after: () => loadSchedules().catch(() => {}),
  },
};
