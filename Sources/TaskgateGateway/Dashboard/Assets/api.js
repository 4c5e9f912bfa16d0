// Calls to the gateway's HTTP API, with the token in the Authorization header; answers other than 2xx become ApiError.

import { $ } from './dom.js';
import { askForToken } from './token.js';
import { page } from './state.js';

/** An answer other than 2xx: the problem's fields, with its detail as the message. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export function headers(extra = {}) {
  const result = { Accept: 'application/json', ...extra };
  if (page.token) result.Authorization = `Bearer ${page.token}`;
  return result;
}

/** One API call; resolves to the parsed JSON body, rejects with ApiError (a 401 also asks for a token). */
export async function api(method, path, body) {
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

export const enc = encodeURIComponent;
