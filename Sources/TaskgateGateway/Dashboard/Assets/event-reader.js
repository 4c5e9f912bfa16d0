// Reads a text/event-stream with fetch() rather than EventSource, so the token goes in a header, never in a URL.

import { ApiError, headers } from './api.js';
import { askForToken } from './token.js';

/**
 * Reads a text/event-stream with fetch, so the request carries the Authorization header. Reconnects after a
 * drop (after the stream's retry: time, growing to 10 s while it keeps failing) until closed; onEnd decides
 * whether a stream that the gateway ended cleanly is opened again.
 */
export class EventReader {
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
