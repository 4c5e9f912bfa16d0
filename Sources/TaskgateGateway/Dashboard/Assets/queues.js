// The queue table: read once, then moved by the events of one stream over every shown queue (GET /events).

import { $, $$, ago, element, limitsText, setLive, svg } from './dom.js';
import { EventReader } from './event-reader.js';
import { STATES, page } from './state.js';
import { actionButton } from './actions.js';
import { api, enc } from './api.js';
import { listEvent, renderQueueHead } from './queue-view.js';

// A queue's figures are read again this long after its first event in a burst: events move the counts at once,
// and the read corrects what no event carries (the age of the oldest pending task, the minute buckets).
const RECONCILE_MS = 2000;
// While the queue stream is down, the figures are read this often instead.
const FALLBACK_POLL_MS = 5000;
// The longest URL of the queue stream: the gateway refuses a request head that outgrows its 16 KiB of connection
// memory, which a URL of some 8,000 bytes already does (measured).
const STREAM_URL_BYTES = 6000;

/** Reads the first pages of queues (100 each), with each queue's chart of the last hour. */
/**
 * Reads the queues the table shows (the first page of 100, and 100 more for each "More queues"), with each queue's
 * chart of the last hour: two pipelined Redis rounds per 1,000 queues, nothing per task.
 */
export async function loadQueues() {
  const summaries = [];
  let cursor = null;
  do {
    const limit = Math.min(1000, page.queueLimit - summaries.length);
    const answer = await api('GET', `/queues?per_minute=true&limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    summaries.push(...answer.queues);
    cursor = answer.next_cursor;
  } while (cursor && summaries.length < page.queueLimit);
  page.nextCursor = cursor;
  const now = Date.now();
  page.queues = new Map(summaries.map((summary) => [summary.queue, { ...summary, receivedAt: now }]));
  page.order = summaries.map((summary) => summary.queue);
  renderQueues();
  followQueues();
}

/** Reads one queue's figures again (GET /queues/{queue}): about ten O(1) Redis commands in two pipelined rounds. */
export async function reloadQueue(name) {
  const summary = await api('GET', `/queues/${enc(name)}`);
  page.queues.set(name, { ...summary, receivedAt: Date.now() });
  if (!page.order.includes(name)) {
    page.order.push(name);
    page.order.sort();
  }
  renderQueues();
}

/** Reads one queue's figures again `delay` ms from now, once for a burst of events; no read runs twice at once. */
export function scheduleReconcile(name, delay = RECONCILE_MS) {
  let entry = page.reconcile.get(name);
  if (!entry) {
    entry = { timer: null, running: false, dirty: false };
    page.reconcile.set(name, entry);
  }
  if (entry.running) {
    entry.dirty = true;
    return;
  }
  if (entry.timer !== null) return;
  entry.timer = setTimeout(async () => {
    entry.timer = null;
    entry.running = true;
    try {
      await reloadQueue(name);
    } catch (error) {
      // The stream's own state says whether the gateway is reachable; the next event tries again.
    }
    entry.running = false;
    if (entry.dirty) {
      entry.dirty = false;
      scheduleReconcile(name);
    }
  }, delay);
}

export function renderQueues() {
  const body = $('#queue-table tbody');
  const rows = new Map($$('tr[data-queue]', body).map((row) => [row.dataset.queue, row]));
  let previous = null;
  for (const name of page.order) {
    let row = rows.get(name);
    rows.delete(name);
    if (!row) row = element('tr', { 'data-queue': name });
    fillQueueRow(row, page.queues.get(name));
    const expected = previous ? previous.nextSibling : body.firstChild;
    if (expected !== row) body.insertBefore(row, expected);
    previous = row;
  }
  for (const row of rows.values()) row.remove();
  $('#queues-empty').hidden = page.order.length > 0;
  $('#queues-more').hidden = !page.nextCursor;
  if (page.list) renderQueueHead();
}

export function cell(field, label, content, className) {
  return element('td', { 'data-field': field, 'data-label': label, className: className || null }, content);
}

/**
 * Fills a queue's row, or updates it in place: a cell's text changes, its element stays, so a live update never
 * takes the keyboard focus away from a control in the row.
 */
export function fillQueueRow(row, summary) {
  const name = summary.queue;
  const d = summary.depths;
  const minute = summary.last_minute || { succeeded: 0, failed: 0 };
  if (!row.firstChild) {
    const link = element('a', { href: `#/queues/${enc(name)}` }, name);
    row.append(element('th', { scope: 'row', 'data-field': 'queue', 'data-label': 'Queue' }, link));
    for (const [field, label] of [['pending', 'Pending'], ['scheduled', 'Scheduled'], ['retrying', 'Retrying'],
      ['active', 'Active'], ['dead', 'Dead'], ['paused', 'State'], ['limits', 'Limits'],
      ['oldest', 'Oldest pending'], ['succeeded_minute', 'OK/min'], ['failed_minute', 'Failed/min'],
      ['chart', 'Last hour']]) {
      row.append(cell(field, label, null));
    }
    if (page.admin) row.append(cell('actions', 'Actions', null, 'admin-col'));
  }
  const set = (field, text, className) => {
    const target = $(`[data-field="${field}"]`, row);
    if (target.textContent !== text) target.textContent = text;
    if (className !== undefined && target.className !== className) target.className = className;
  };
  set('pending', String(d.pending), 'num');
  set('scheduled', String(d.scheduled), 'num');
  set('retrying', String(d.retrying), 'num');
  set('active', String(d.active), 'num');
  set('dead', String(d.dead), d.dead > 0 ? 'num bad' : 'num');
  set('paused', summary.paused ? 'paused' : 'running', summary.paused ? 'paused' : 'running');
  set('limits', limitsText(summary.limits));
  set('oldest', oldestText(summary), 'num');
  set('succeeded_minute', String(minute.succeeded), 'num');
  set('failed_minute', String(minute.failed), minute.failed > 0 ? 'num bad' : 'num');
  $('[data-field="chart"]', row).replaceChildren(chart(summary));
  const actionsCell = $('[data-field="actions"]', row);
  if (actionsCell) {
    const wanted = summary.paused ? 'resume' : 'pause';
    const current = $('button[data-action]', actionsCell);
    if (!current || current.dataset.action !== wanted) {
      const focused = current !== null && document.activeElement === current;
      const button = actionButton(wanted, name, 'queue');
      actionsCell.replaceChildren(button);
      if (focused) button.focus();
    }
  }
  const link = $('th a', row);
  if (page.list && page.list.queue === name) link.setAttribute('aria-current', 'page');
  else link.removeAttribute('aria-current');
}

export function oldestText(summary) {
  if (!summary.depths.pending || summary.oldest_pending_age_seconds === null) return '-';
  return ago(summary.oldest_pending_age_seconds * 1000 + (Date.now() - summary.receivedAt));
}

/** The last hour as bars, succeeded up and failed down, drawn as inline SVG. */
export function chart(summary) {
  const minutes = summary.per_minute || [];
  const width = 120;
  const height = 28;
  const middle = height / 2;
  const peak = Math.max(1, ...minutes.map((m) => Math.max(m.succeeded, m.failed)));
  const succeeded = minutes.reduce((sum, m) => sum + m.succeeded, 0);
  const failed = minutes.reduce((sum, m) => sum + m.failed, 0);
  const label = `Last hour: ${succeeded} succeeded, ${failed} failed`;
  const picture = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label,
    class: 'chart' });
  const title = svg('title');
  title.textContent = label;
  picture.append(title, svg('line', { x1: 0, x2: width, y1: middle, y2: middle, class: 'axis' }));
  const step = width / Math.max(60, minutes.length);
  minutes.forEach((m, index) => {
    const x = index * step;
    if (m.succeeded > 0) {
      const h = Math.max(1, (m.succeeded / peak) * (middle - 1));
      picture.append(svg('rect', { x, y: middle - h, width: Math.max(1, step - 0.4), height: h, class: 'ok' }));
    }
    if (m.failed > 0) {
      const h = Math.max(1, (m.failed / peak) * (middle - 1));
      picture.append(svg('rect', { x, y: middle, width: Math.max(1, step - 0.4), height: h, class: 'failed' }));
    }
  });
  return picture;
}

/** One stream for every queue in the table; opened again when the set of queues changes. */
export function followQueues() {
  // The stream follows the queues whose names fit in STREAM_URL_BYTES (about 250 names of 15 characters, 80 of
  // the longest); the figures of any others are read every FALLBACK_POLL_MS instead.
  const names = [];
  let length = '/events?'.length;
  for (const name of page.order) {
    const argument = `queue=${enc(name)}&`;
    if (length + argument.length > STREAM_URL_BYTES) break;
    names.push(name);
    length += argument.length;
  }
  clearInterval(page.unfollowedTimer);
  page.unfollowedTimer = null;
  if (names.length < page.order.length) {
    page.unfollowedTimer = setInterval(() => { loadQueues().catch(() => {}); }, FALLBACK_POLL_MS);
  }
  const key = names.join('\n');
  if (page.queueStream && page.streamQueues === key) return;
  // A stream that replaces another (the set of queues changed) reads the figures once it is open, since events
  // may have passed between the two.
  const replacing = page.queueStream !== null;
  if (page.queueStream) page.queueStream.close();
  page.streamQueues = key;
  page.queueStream = null;
  if (names.length === 0) {
    setLive('live', 'live');
    return;
  }
  setLive('connecting', 'connecting');
  let opened = replacing;
  page.queueStream = new EventReader(`/events?${names.map((n) => `queue=${enc(n)}`).join('&')}`, {
    onOpen: () => {
      setLive('live', 'live');
      stopFallback();
      // Events missed while the stream was down: read the figures once it is back.
      if (opened) loadQueues().catch(() => {});
      opened = true;
    },
    onDrop: (error) => {
      setLive('offline', error ? `offline: ${error.message}` : 'reconnecting');
      startFallback();
    },
    onEvent: queueEvent,
  });
}

export function startFallback() {
  if (page.fallbackTimer !== null) return;
  page.fallbackTimer = setInterval(() => { loadQueues().catch(() => {}); }, FALLBACK_POLL_MS);
}

export function stopFallback() {
  clearInterval(page.fallbackTimer);
  page.fallbackTimer = null;
}

/** Where each event moves a task, so the counts change the moment it happens. */
export function transition(name, event) {
  switch (name) {
    // A task stored with parents is created waiting, which no depth counts, until it is released.
    case 'created': return { to: event.state && event.state !== 'pending' ? null : 'pending' };
    case 'scheduled': return { to: 'scheduled' };
    case 'released': return { to: event.state === 'scheduled' ? 'scheduled' : 'pending' };
    case 'active': return { from: 'pending', to: 'active' };
    case 'succeeded': return { from: 'active', ok: 1 };
    case 'retrying': return { from: 'active', to: event.state === 'pending' ? 'pending' : 'retrying', failed: 1 };
    case 'dead': return { from: event.attempt > 0 ? 'active' : null, to: 'dead', failed: 1 };
    // A promoted task that never ran waited as scheduled; one that ran waited to be retried.
    case 'promoted': return { from: event.attempt > 0 ? 'retrying' : 'scheduled', to: 'pending' };
    case 'requeued': return { from: 'dead', to: 'pending' };
    // A lost worker's attempt counts as failed (it carries the error); a task put back unclaimed does not.
    case 'recovered': return { from: 'active', to: 'pending', failed: event.error ? 1 : 0 };
    case 'cancelled': return { from: event.was };
    case 'deleted': return { from: event.state };
    default: return null;
  }
}

export function queueEvent(name, event) {
  const queue = event.queue;
  const summary = page.queues.get(queue);
  if (!summary) return;
  if (name === 'paused' || name === 'resumed' || name === 'limits') {
    applySettings(queue, event);
    return;
  }
  const move = transition(name, event);
  if (move) {
    const depths = summary.depths;
    if (move.from && STATES.includes(move.from)) depths[move.from] = Math.max(0, depths[move.from] - 1);
    if (move.to) depths[move.to] += 1;
    if (move.ok || move.failed) countOutcome(summary, move.ok || 0, move.failed || 0, event.at);
    renderQueueRow(queue);
  }
  scheduleReconcile(queue);
  listEvent(name, event);
}

export function countOutcome(summary, ok, failed, at) {
  summary.last_minute = summary.last_minute || { succeeded: 0, failed: 0 };
  summary.last_minute.succeeded += ok;
  summary.last_minute.failed += failed;
  const minutes = summary.per_minute;
  if (!minutes || minutes.length === 0) return;
  const last = minutes[minutes.length - 1];
  const start = Date.parse(last.start);
  const when = at || Date.now();
  if (when >= start + 60000) {
    minutes.push({ start: new Date(Math.floor(when / 60000) * 60000).toISOString(), succeeded: 0, failed: 0 });
    minutes.shift();
  }
  minutes[minutes.length - 1].succeeded += ok;
  minutes[minutes.length - 1].failed += failed;
}

export function applySettings(queue, settings) {
  const summary = page.queues.get(queue);
  if (!summary) return;
  if (settings.paused !== undefined) summary.paused = settings.paused;
  if (settings.paused_at !== undefined) summary.paused_at = settings.paused_at;
  if (settings.limits !== undefined) summary.limits = settings.limits;
  renderQueueRow(queue);
  if (page.list && page.list.queue === queue) renderQueueHead();
}

export function renderQueueRow(queue) {
  const row = $(`#queue-table tr[data-queue="${CSS.escape(queue)}"]`);
  if (row) fillQueueRow(row, page.queues.get(queue));
  if (page.list && page.list.queue === queue) renderQueueHead();
}
