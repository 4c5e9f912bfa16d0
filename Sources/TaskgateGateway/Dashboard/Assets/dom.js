// Small DOM and formatting helpers, and the two live regions (the notice and the stream's state).



export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'className') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function svg(tag, attributes = {}) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

export function ago(milliseconds) {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

export function time(value) {
  if (value === null || value === undefined) return '-';
  const date = typeof value === 'number' ? new Date(value) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { hour12: false });
}

export function limitsText(limits) {
  if (!limits) return 'none';
  const parts = [];
  if (limits.max_per_second !== null && limits.max_per_second !== undefined) {
    parts.push(`${limits.max_per_second}/s` + (limits.burst ? ` (burst ${limits.burst})` : ''));
  }
  if (limits.max_active !== null && limits.max_active !== undefined) parts.push(`${limits.max_active} active`);
  return parts.length ? parts.join(', ') : 'none';
}

/** A JSON value as text: a string as the string it is, anything else pretty-printed (never parsed again). */
export function jsonText(value) {
  if (value === undefined) return '-';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}

/** Like jsonText, with '-' for null: for a value that is null when there is none. */
export function pretty(value) {
  if (value === null || value === undefined) return '-';
  return jsonText(value);
}

let noticeTimer = null;
/** Shows the answer to an action (or a problem's detail) in the live region. */
export function notify(kind, message) {
  const notice = $('#notice');
  notice.dataset.kind = kind;
  notice.textContent = message;
  clearTimeout(noticeTimer);
  if (kind === 'ok') noticeTimer = setTimeout(() => { notice.dataset.kind = 'none'; notice.textContent = ''; }, 8000);
}

export function setLive(state, text) {
  const status = $('#live-status');
  status.dataset.state = state;
  status.textContent = text;
}
