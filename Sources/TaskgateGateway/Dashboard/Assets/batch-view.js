// One batch: its counts as a progress bar, its metadata, times and webhook, live from GET /batches/{id}/events.

import { $, element, notify, pretty, time } from './dom.js';
import { EventReader } from './event-reader.js';
import { page } from './state.js';
import { api, enc } from './api.js';

// After completion the stream has ended; a webhook still being delivered is read again this often, until it ends.
const CALLBACK_POLL_MS = 5000;
const CALLBACK_FINAL = new Set(['delivered', 'dead']);

export function openBatch(id) {
  if (page.batch && page.batch.id === id) return;
  closeBatch();
  page.batch = { id, stream: null, record: null, final: false, timer: null };
  $('#batch-view').hidden = false;
  $('#batch-title').textContent = `Batch ${id}`;
  renderBatch(null);
  const batch = page.batch;
  batch.stream = new EventReader(`/batches/${enc(id)}/events`, {
    onOpen: () => { if (page.batch === batch) $('#batch-live').textContent = 'live'; },
    onDrop: (error) => {
      if (page.batch !== batch) return;
      if (error && error.status === 404) {
        $('#batch-live').textContent = '';
        $('#batch-state').textContent = 'unknown';
        $('#batch-state').className = '';
        notify('error', error.message);
        return;
      }
      $('#batch-live').textContent = batch.final ? 'final' : 'reconnecting';
    },
    // The gateway ends the stream once the batch is complete; it is opened again only while it is not.
    reconnect: () => !batch.final,
    onEvent: (name, data) => batchEvent(batch, name, data),
  });
}

/** Closes the batch view and forgets what it showed. */
export function closeBatch() {
  if (page.batch) {
    if (page.batch.stream) page.batch.stream.close();
    clearTimeout(page.batch.timer);
  }
  page.batch = null;
  $('#batch-view').hidden = true;
  $('#batch-title').textContent = 'Batch';
  $('#batch-live').textContent = '';
  renderBatch(null);
}

export function batchEvent(batch, name, data) {
  if (page.batch !== batch) return;
  if (name === 'snapshot') {
    // A reconnect starts with a fresh snapshot: it replaces whatever the page held.
    batch.record = data;
  } else if ((name === 'batch_progress' || name === 'batch_completed') && data.counts) {
    if (!batch.record) return; // Never before the snapshot: the gateway sends that first.
    const { total, ...counts } = data.counts;
    batch.record.counts = counts;
    if (typeof total === 'number') batch.record.total = total;
    if (name === 'batch_completed') {
      batch.record.complete = true;
      batch.record.succeeded = data.succeeded === true;
      if (!batch.record.completed_at && data.at) batch.record.completed_at = data.at;
    }
  } else {
    return;
  }
  renderBatch(batch.record);
  if (batch.record.complete && !batch.final) {
    batch.final = true;
    $('#batch-live').textContent = 'final';
    // The completion event carries the counts only: one read gives the exact completion time and the webhook.
    if (name !== 'snapshot') loadBatch(batch);
    else followCallback(batch);
  }
}

/** Reads the open batch again (GET /batches/{id}: one HGETALL). */
export async function loadBatch(batch) {
  try {
    const record = await api('GET', `/batches/${enc(batch.id)}`);
    if (page.batch !== batch) return;
    batch.record = record;
    renderBatch(record);
    followCallback(batch);
  } catch (error) {
    if (page.batch !== batch) return;
    if (error.status === 404) {
      $('#batch-state').textContent = 'expired';
      $('#batch-state').className = '';
    } else {
      followCallback(batch); // A read that failed is tried again while a delivery may still change.
    }
  }
}

/** While a complete batch's webhook is still being delivered, its state is read again every few seconds. */
function followCallback(batch) {
  clearTimeout(batch.timer);
  const callback = batch.record && batch.record.callback;
  if (!batch.final || !callback || CALLBACK_FINAL.has(callback.state)) return;
  batch.timer = setTimeout(() => loadBatch(batch), CALLBACK_POLL_MS);
}

function field(term, value, name) {
  return [element('dt', {}, term), element('dd', { 'data-field': name }, value)];
}

export function renderBatch(record) {
  const state = $('#batch-state');
  const bar = $('#batch-progress');
  const counts = $('#batch-counts');
  const times = $('#batch-times');
  const callbackBox = $('#batch-callback');
  counts.replaceChildren();
  times.replaceChildren();
  callbackBox.replaceChildren();
  if (!record) {
    state.textContent = '-';
    state.className = '';
    bar.max = 1;
    bar.value = 0;
    bar.removeAttribute('aria-valuetext');
    $('#batch-progress-text').textContent = '-';
    $('#batch-metadata').textContent = '-';
    return;
  }
  const c = record.counts || { succeeded: 0, dead: 0, cancelled: 0, unfinished: record.total };
  const total = Math.max(0, Number(record.total) || 0);
  const final = Math.max(0, total - c.unfinished);
  state.textContent = record.complete ? 'complete' : 'incomplete';
  state.className = !record.complete ? 'state active' : record.succeeded ? 'state succeeded' : 'state dead';
  bar.max = Math.max(1, total);
  bar.value = final;
  const percent = total > 0 ? Math.floor((final * 100) / total) : 100;
  const summary = `${final} of ${total} final (${percent}%)`;
  bar.setAttribute('aria-valuetext', summary);
  $('#batch-progress-text').textContent = summary;
  const yesNo = (value) => (value ? 'yes' : 'no');
  for (const [term, value, name] of [
    ['Total', String(total), 'total'],
    ['Succeeded', String(c.succeeded), 'succeeded'],
    ['Dead', String(c.dead), 'dead'],
    ['Cancelled', String(c.cancelled), 'cancelled'],
    ['Unfinished', String(c.unfinished), 'unfinished'],
    ['Complete', yesNo(record.complete), 'complete'],
    ['All succeeded', yesNo(record.succeeded), 'all_succeeded'],
  ]) {
    counts.append(...field(term, value, name));
  }
  for (const [term, value, name] of [['Created', record.created_at, 'created_at'],
    ['Completed', record.completed_at, 'completed_at'], ['Expires', record.expires_at, 'expires_at']]) {
    times.append(...field(term, time(value), name));
  }
  const callback = record.callback;
  if (!callback) {
    callbackBox.append(...field('URL', 'none (no callback_url)', 'callback'));
  } else {
    for (const [term, value, name] of [
      ['URL', callback.url, 'callback_url'],
      ['State', callback.state, 'callback_state'],
      ['Tries', String(callback.tries), 'callback_tries'],
      ['Last status', callback.last_status === null || callback.last_status === undefined
        ? '-' : String(callback.last_status), 'callback_last_status'],
      ['Last error', callback.last_error || '-', 'callback_last_error'],
      ['Finished', time(callback.finished_at), 'callback_finished_at'],
    ]) {
      callbackBox.append(...field(term, value, name));
    }
  }
  // The client's own JSON: shown as text (textContent), never as markup.
  $('#batch-metadata').textContent = pretty(record.metadata);
}
