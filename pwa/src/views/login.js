// Login with a bearer token for this user's device id. Offline, the last users of this phone log
// in with their password against the verifier kept at their last online login (accounts.js).
import { rememberAccount, unlockOffline } from '../accounts.js';
import { ApiError, api, setToken } from '../api.js';
import { deviceIdFor, phoneId, setMeta } from '../db.js';
import { t } from '../i18n.js';
import { h, mount } from '../ui.js';

async function offlineLogin(username, password) {
  const account = await unlockOffline(username, password);
  if (!account) return null;
  return { token: null, expires_at: null, user: account.user, device_id: account.device_id,
    device_key: account.device_key, offline: true };
}

/** Render the login form; onLoggedIn(auth, password) runs after a successful login. */
export async function renderLogin(root, { onLoggedIn, notice, username = '' }) {
  const phone = await phoneId();
  const error = h('p', { class: 'warn', role: 'alert' }, notice || '');
  const submit = h('button', { type: 'submit', class: 'primary big', 'data-testid': 'login-submit' },
    t('login.submit'));
  const form = h('form', { class: 'login', autocomplete: 'on', onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = data.get('username').trim();
    const password = data.get('password');
    error.textContent = '';
    submit.disabled = true;
    try {
      let auth = null;
      if (navigator.onLine) {
        try {
          const device = await deviceIdFor(name);
          const answer = await api('/auth/token', { method: 'POST', json: {
            username: name, password, device_id: device } });
          auth = { token: answer.token, expires_at: answer.expires_at, user: answer.user,
            device_key: answer.device_key || null, device_id: device };
          await rememberAccount(name, password, auth);
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 0)) {
            error.textContent = err instanceof ApiError && err.status === 401 ? t('login.wrong')
              : t('login.failed_plain');
            return;
          }
        }
      }
      if (!auth) {
        auth = await offlineLogin(name, password);
        if (!auth) {
          error.textContent = t('login.offline_unknown');
          return;
        }
      }
      await setMeta('auth', auth);
      setToken(auth.token);
      onLoggedIn(auth, password);
    } finally {
      submit.disabled = false;
    }
  } },
  h('h2', {}, t('login.heading')),
  h('label', { for: 'login-username' }, t('login.username')),
  h('input', { id: 'login-username', name: 'username', type: 'text', autocomplete: 'username', required: true,
    autocapitalize: 'none', value: username, 'data-testid': 'login-username' }),
  h('label', { for: 'login-password' }, t('login.password')),
  h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, 'data-testid': 'login-password' }),
  error,
  submit,
  h('p', { class: 'muted small-print' }, navigator.onLine ? '' : t('login.offline_hint')),
  h('p', { class: 'muted small-print' }, t('login.device', { id: phone.slice(0, 8) })));
  mount(root, form);
}
