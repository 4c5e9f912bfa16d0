// Taskgate's dashboard: the queues, their tasks and each task's events, live, through the public HTTP API only.
//
// No framework and no build step. The page reads events with fetch() and a stream reader instead of EventSource,
// so that the API token travels in the Authorization header and never in a URL. One stream (GET /events) carries
// every shown queue's events, so the page holds at most two streams (that one and an open task's), well under a
// browser's six connections to a host.
'use strict';

(() => {
  const TOKEN_KEY = 'taskgate.token';
  const STATES = ['pending', 'scheduled', 'retrying', 'active', 'dead'];
  const FINAL = new Set(['succeeded', 'dead', 'cancelled']);
  const TASK_PAGE = 50;
  // A queue's figures are read again this long after its first event in a burst: events move the counts at once,
  // and the read corrects what no event carries (the age of the oldest pending task, the minute buckets).
  const RECONCILE_MS = 2000;
  // While the queue stream is down, the figures are read this often instead.
  const FALLBACK_POLL_MS = 5000;
  // New queues appear without an event (nothing of theirs is followed yet): the list is read again this often.
  const QUEUE_LIST_MS = 30000;

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  const page = {
    token: sessionStorage.getItem(TOKEN_KEY),
    tokensRequired: false,
    admin: false,
    queues: new Map(), // name -> summary as GET /queues gives it, with local changes applied
    order: [], // queue names in table order
    nextCursor: null,
    queueStream: null,
    streamQueues: '',
    reconcile: new Map(), // name -> {timer, running, dirty}
    fallbackTimer: null,
    listTimer: null,
    route: { view: 'queues' },
    list: null, // the open queue view: {queue, state, type, error, cursor, ids: Set}
    task: null, // the open task view: {id, stream, record}
  };

  // ---------------------------------------------------------------------------------------------- the API

  /** An answer other than 2xx: the problem's fields, with its detail as the message. */
  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  function headers(extra = {}) {
    const result = { Accept: 'application/json', ...extra };
    if (page.token) result.Authorization = `Bearer ${page.token}`;
    return result;
  }

  /** One API call; resolves to the parsed JSON body, rejects with ApiError (a 401 also asks for a token). */
  async function api(method, path, body) {
    const init = { method, headers: headers(), cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError(0, { detail: `the gateway did not answer (${error.message})` });
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = { detail: text.slice(0, 200) };
    }
    if (!response.ok) {
      if (response.status === 401) askForToken(page.token ? 'The gateway refused the token: sign in again.' : '');
      throw new ApiError(response.status, data);
    }
    return data;
  }

  const enc = encodeURIComponent;

  // ---------------------------------------------------------------------------------------------- event streams

  /**
   * Reads a text/event-stream with fetch, so the request carries the Authorization header. Reconnects after a
   * drop (after the stream's retry: time, growing to 10 s while it keeps failing) until closed; onEnd decides
   * whether a stream that the gateway ended cleanly is opened again.
   */
  class EventReader {
    constructor(path, { onEvent, onOpen = () => {}, onDrop = () => {}, reconnect = () => true }) {
      this.path = path;
      this.onEvent = onEvent;
      this.onOpen = onOpen;
      this.onDrop = onDrop;
      this.reconnect = reconnect;
      this.retryMs = 1000;
      this.failures = 0;
      this.closed = false;
      this.controller = null;
      this.timer = null;
      this.run();
    }

    close() {
      this.closed = true;
      clearTimeout(this.timer);
      if (this.controller) this.controller.abort();
    }

    async run() {
      if (this.closed) return;
      this.controller = new AbortController();
      let opened = false;
      try {
        const response = await fetch(this.path, {
          headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store', signal: this.controller.signal,
        });
        if (!response.ok) {
          let problem = null;
          try { problem = await response.json(); } catch (error) { problem = null; }
          if (response.status === 401) askForToken('The gateway refused the token: sign in again.');
          throw new ApiError(response.status, problem);
        }
        opened = true;
        this.failures = 0;
        this.onOpen();
        await this.read(response.body.getReader());
        if (this.closed) return;
        this.onDrop(null);
      } catch (error) {
        if (this.closed) return;
        this.failures += 1;
        this.onDrop(error);
        if (error instanceof ApiError && (error.status === 401 || error.status === 403 || error.status === 404)) {
          return; // Not something waiting mends: the caller decides.
        }
      }
      if (this.closed || (opened && !this.reconnect())) return;
      const delay = Math.min(10000, this.retryMs * Math.max(1, this.failures));
      this.timer = setTimeout(() => this.run(), delay);
    }

    async read(reader) {
      const decoder = new TextDecoder();
      let buffer = '';
      let event = { name: 'message', data: [], id: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            if (event.data.length > 0) this.dispatch(event);
            event = { name: 'message', data: [], id: null };
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'event') event.name = value;
          else if (field === 'data') event.data.push(value);
          else if (field === 'id') event.id = value;
          else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
        }
      }
    }

    dispatch(event) {
      let data;
      try {
        data = JSON.parse(event.data.join('\n'));
      } catch (error) {
        return; // Every event the gateway sends is JSON; anything else is not ours to show.
      }
      this.onEvent(event.name, data, event.id);
    }
  }

  // ---------------------------------------------------------------------------------------------- small helpers

  function element(tag, attributes = {}, ...children) {
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

  function svg(tag, attributes = {}) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    return node;
  }

  function ago(milliseconds) {
    const seconds = Math.max(0, Math.round(milliseconds / 1000));
    if (seconds < 60) return `${seconds} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
    return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
  }

  function time(value) {
    if (value === null || value === undefined) return '-';
    const date = typeof value === 'number' ? new Date(value) : new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return date.toLocaleString(undefined, { hour12: false });
  }

  function limitsText(limits) {
    if (!limits) return 'none';
    const parts = [];
    if (limits.max_per_second !== null && limits.max_per_second !== undefined) {
      parts.push(`${limits.max_per_second}/s` + (limits.burst ? ` (burst ${limits.burst})` : ''));
    }
    if (limits.max_active !== null && limits.max_active !== undefined) parts.push(`${limits.max_active} active`);
    return parts.length ? parts.join(', ') : 'none';
  }

  function pretty(value) {
    if (value === null || value === undefined) return '-';
    if (typeof value === 'string') {
      try {
        return JSON.stringify(JSON.parse(value), null, 2);
      } catch (error) {
        return value;
      }
    }
    return JSON.stringify(value, null, 2);
  }

  let noticeTimer = null;
  /** Shows the answer to an action (or a problem's detail) in the live region. */
  function notify(kind, message) {
    const notice = $('#notice');
    notice.dataset.kind = kind;
    notice.textContent = message;
    clearTimeout(noticeTimer);
    if (kind === 'ok') noticeTimer = setTimeout(() => { notice.dataset.kind = 'none'; notice.textContent = ''; }, 8000);
  }

  function setLive(state, text) {
    const status = $('#live-status');
    status.dataset.state = state;
    status.textContent = text;
  }

  // ---------------------------------------------------------------------------------------------- token

  function askForToken(message) {
    const dialog = $('#token-dialog');
    $('#token-error').textContent = message || '';
    if (!dialog.open) dialog.showModal();
    $('#token-input').focus();
  }

  /**
   * Asks the gateway whether it needs a token and what this one may do (GET /whoami answers 200 either way, so a
   * refused token is no failed request); without a valid token the dialog stays open with the reason.
   */
  async function signIn() {
    let who;
    try {
      who = await api('GET', '/whoami');
    } catch (error) {
      askForToken(error.message);
      return false;
    }
    page.tokensRequired = who.tokens_required;
    if (!who.authenticated) {
      askForToken(page.token ? 'The gateway does not know this token.' : '');
      return false;
    }
    page.admin = who.scopes.includes('admin');
    if (!who.scopes.includes('read')) {
      askForToken('This token lacks the read scope, which the dashboard needs.');
      return false;
    }
    document.body.dataset.admin = String(page.admin);
    $('#sign-out').hidden = !page.tokensRequired;
    const dialog = $('#token-dialog');
    if (dialog.open) dialog.close();
    return true;
  }

  function setUpToken() {
    const dialog = $('#token-dialog');
    dialog.addEventListener('cancel', (event) => event.preventDefault()); // Nothing to show without a token.
    $('#token-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = $('#token-input').value.trim();
      if (!value) {
        $('#token-error').textContent = 'Enter a token.';
        return;
      }
      page.token = value;
      if (await signIn()) {
        sessionStorage.setItem(TOKEN_KEY, value);
        $('#token-input').value = '';
        start();
      } else {
        page.token = null;
      }
    });
    $('#sign-out').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      page.token = null;
      stop();
      askForToken('');
    });
  }

  // ---------------------------------------------------------------------------------------------- actions

  const confirmation = { resolve: null };

  function confirmAction(message) {
    const dialog = $('#confirm-dialog');
    $('#confirm-message').textContent = message;
    dialog.showModal();
    $('#confirm-cancel').focus();
    return new Promise((resolve) => { confirmation.resolve = resolve; });
  }

  function setUpConfirm() {
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
  const actions = {
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
  };

  /** An admin button, or nothing for a read-only token (the control is left out, not just refused). */
  function actionButton(name, target, kind) {
    if (!page.admin) return null;
    const action = actions[name];
    const attributes = { type: 'button', className: `action ${name}`, 'data-action': name };
    attributes[kind === 'queue' ? 'data-queue' : 'data-task'] = target;
    attributes['aria-label'] = `${action.label} ${kind} ${target}`;
    return element('button', attributes, action.label);
  }

  async function perform(name, target) {
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

  function setUpActions() {
    document.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (!button) return;
      perform(button.dataset.action, button.dataset.queue || button.dataset.task);
    });
  }

  function taskChanged(id) {
    const queue = id.slice(0, id.lastIndexOf('.'));
    scheduleReconcile(queue, 0);
    if (page.list && page.list.queue === queue) reloadList();
    if (page.task && page.task.id === id) loadTask(id);
  }

  // ---------------------------------------------------------------------------------------------- queues

  /** Reads the first pages of queues (100 each), with each queue's chart of the last hour. */
  async function loadQueues() {
    const summaries = [];
    let cursor = null;
    do {
      const answer = await api('GET', `/queues?per_minute=true${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      summaries.push(...answer.queues);
      cursor = answer.next_cursor;
    } while (cursor && summaries.length < 1000);
    page.nextCursor = cursor;
    const now = Date.now();
    page.queues = new Map(summaries.map((summary) => [summary.queue, { ...summary, receivedAt: now }]));
    page.order = summaries.map((summary) => summary.queue);
    renderQueues();
    followQueues();
  }

  async function reloadQueue(name) {
    const summary = await api('GET', `/queues/${enc(name)}`);
    page.queues.set(name, { ...summary, receivedAt: Date.now() });
    if (!page.order.includes(name)) {
      page.order.push(name);
      page.order.sort();
    }
    renderQueues();
  }

  /** Reads one queue's figures again `delay` ms from now, once for a burst of events; no read runs twice at once. */
  function scheduleReconcile(name, delay = RECONCILE_MS) {
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

  function renderQueues() {
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

  function cell(field, label, content, className) {
    return element('td', { 'data-field': field, 'data-label': label, className: className || null }, content);
  }

  /**
   * Fills a queue's row, or updates it in place: a cell's text changes, its element stays, so a live update never
   * takes the keyboard focus away from a control in the row.
   */
  function fillQueueRow(row, summary) {
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

  function oldestText(summary) {
    if (!summary.depths.pending || summary.oldest_pending_age_seconds === null) return '-';
    return ago(summary.oldest_pending_age_seconds * 1000 + (Date.now() - summary.receivedAt));
  }

  /** The last hour as bars, succeeded up and failed down, drawn as inline SVG. */
  function chart(summary) {
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
  function followQueues() {
    const names = page.order.slice(0, 1000);
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

  function startFallback() {
    if (page.fallbackTimer !== null) return;
    page.fallbackTimer = setInterval(() => { loadQueues().catch(() => {}); }, FALLBACK_POLL_MS);
  }

  function stopFallback() {
    clearInterval(page.fallbackTimer);
    page.fallbackTimer = null;
  }

  /** Where each event moves a task, so the counts change the moment it happens. */
  function transition(name, event) {
    switch (name) {
      case 'created': return { to: 'pending' };
      case 'scheduled': return { to: 'scheduled' };
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

  function queueEvent(name, event) {
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

  function countOutcome(summary, ok, failed, at) {
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

  function applySettings(queue, settings) {
    const summary = page.queues.get(queue);
    if (!summary) return;
    if (settings.paused !== undefined) summary.paused = settings.paused;
    if (settings.paused_at !== undefined) summary.paused_at = settings.paused_at;
    if (settings.limits !== undefined) summary.limits = settings.limits;
    renderQueueRow(queue);
    if (page.list && page.list.queue === queue) renderQueueHead();
  }

  function renderQueueRow(queue) {
    const row = $(`#queue-table tr[data-queue="${CSS.escape(queue)}"]`);
    if (row) fillQueueRow(row, page.queues.get(queue));
    if (page.list && page.list.queue === queue) renderQueueHead();
  }

  // ---------------------------------------------------------------------------------------------- one queue's tasks

  function openQueue(queue, state) {
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

  function renderQueueHead() {
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

  async function reloadList() {
    const list = page.list;
    if (!list) return;
    list.cursor = null;
    list.ids = new Set();
    $('#task-table tbody').replaceChildren();
    await loadMoreTasks();
  }

  async function loadMoreTasks() {
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

  function taskRow(task) {
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

  /** What an operator may do to a task in a state, as the API allows it. */
  function allowedActions(state) {
    const allowed = [];
    if (state === 'dead') allowed.push('requeue');
    if (['pending', 'scheduled', 'retrying', 'active'].includes(state)) allowed.push('cancel');
    if (state && state !== 'active') allowed.push('delete');
    return allowed;
  }

  /** Keeps the shown list true to the events: a task leaves when it leaves the state, a new one comes in on top. */
  function listEvent(name, event) {
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

  function setUpQueueView() {
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
    $('#queues-more').addEventListener('click', async () => {
      const answer = await api('GET', `/queues?per_minute=true&cursor=${enc(page.nextCursor)}`)
        .catch((error) => { notify('error', error.message); return null; });
      if (!answer) return;
      const now = Date.now();
      for (const summary of answer.queues) {
        page.queues.set(summary.queue, { ...summary, receivedAt: now });
        if (!page.order.includes(summary.queue)) page.order.push(summary.queue);
      }
      page.nextCursor = answer.next_cursor;
      renderQueues();
      followQueues();
    });
  }

  // ---------------------------------------------------------------------------------------------- one task

  function openTask(id) {
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
  function closeTask() {
    if (page.task && page.task.stream) page.task.stream.close();
    page.task = null;
    $('#task-view').hidden = true;
    $('#task-title').textContent = 'Task';
    $('#task-timeline').replaceChildren();
    $('#task-live').textContent = '';
    renderTask(null);
  }

  /** Closes the queue view and forgets its rows and actions. */
  function closeQueue() {
    page.list = null;
    $('#queue-view').hidden = true;
    $('#queue-actions').replaceChildren();
    $('#dead-actions').replaceChildren();
    $('#task-table tbody').replaceChildren();
    $('#tasks-more').hidden = true;
    $('#tasks-empty').hidden = true;
  }

  function taskEvent(task, name, data) {
    if (page.task !== task) return;
    const timeline = $('#task-timeline');
    if (name === 'snapshot') {
      // A reconnect starts with a snapshot again: the events before it are kept, the snapshot marks the gap.
      task.record = data;
      renderTask(data);
      timeline.append(timelineItem('snapshot', data.state, data.updated_at, 'read: ' + data.state));
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

  function timelineItem(name, state, at, detail) {
    return element('li', { 'data-event': name },
      element('span', { className: `event ${name}` }, name),
      element('time', {}, time(at)),
      detail ? element('span', { className: 'detail' }, detail) : null);
  }

  async function loadTask(id) {
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

  function renderTask(record) {
    $('#task-state').textContent = record ? record.state : '-';
    $('#task-state').className = record ? `state ${record.state}` : '';
    const fields = $('#task-fields');
    const times = $('#task-times');
    fields.replaceChildren();
    times.replaceChildren();
    $('#task-payload').textContent = record ? pretty(record.payload) : '-';
    $('#task-result').textContent = record ? pretty(record.result) : '-';
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
    for (const [term, value] of rows) fields.append(element('dt', {}, term), element('dd', {}, value));
    for (const [term, value] of [['Created', record.created_at], ['Run at', record.run_at],
      ['Started', record.started_at], ['Finished', record.finished_at], ['Updated', record.updated_at]]) {
      times.append(element('dt', {}, term), element('dd', {}, time(value)));
    }
    for (const name of allowedActions(record.state)) {
      const button = actionButton(name, record.id, 'task');
      if (button) actionsBox.append(button);
    }
  }

  // ---------------------------------------------------------------------------------------------- routes

  function route() {
    const hash = location.hash.replace(/^#\/?/, '');
    const parts = hash.split('/').map((part) => decodeURIComponent(part));
    if (parts[0] === 'tasks' && parts[1]) {
      closeQueue();
      openTask(parts[1]);
    } else if (parts[0] === 'queues' && parts[1]) {
      closeTask();
      openQueue(parts[1], STATES.includes(parts[2]) ? parts[2] : 'pending');
    } else {
      closeTask();
      closeQueue();
      renderQueues();
    }
  }

  function setUpSearch() {
    $('#search-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const id = $('#search-input').value.trim();
      if (!id) return;
      try {
        await api('GET', `/tasks/${enc(id)}`);
      } catch (error) {
        notify('error', error.message);
        return;
      }
      location.hash = `#/tasks/${enc(id)}`;
    });
  }

  // ---------------------------------------------------------------------------------------------- start and stop

  let ticker = null;

  async function start() {
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

  function stop() {
    document.body.dataset.ready = 'false';
    document.body.dataset.admin = 'false';
    page.admin = false;
    if (page.queueStream) page.queueStream.close();
    page.queueStream = null;
    page.streamQueues = '';
    stopFallback();
    clearInterval(page.listTimer);
    clearInterval(ticker);
    for (const entry of page.reconcile.values()) clearTimeout(entry.timer);
    page.reconcile.clear();
    closeTask();
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
})();
