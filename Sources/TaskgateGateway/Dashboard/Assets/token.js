// The token dialog: asks GET /whoami whether a token is needed and what it may do; keeps it in sessionStorage.

import { $ } from './dom.js';
import { TOKEN_KEY, page } from './state.js';
import { api } from './api.js';
import { start, stop } from './app.js';

export function askForToken(message) {
  const dialog = $('#token-dialog');
  $('#token-error').textContent = message || '';
  if (!dialog.open) dialog.showModal();
  $('#token-input').focus();
}

/**
 * Asks the gateway whether it needs a token and what this one may do (GET /whoami answers 200 either way, so a
 * refused token is no failed request); without a valid token the dialog stays open with the reason.
 */
export async function signIn() {
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

export function setUpToken() {
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
