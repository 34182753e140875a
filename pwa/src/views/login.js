// Login with a bearer token for this device; the device id is made once and kept.
import { ApiError, api, setToken } from '../api.js';
import { deviceId, setMeta } from '../db.js';
import { t } from '../i18n.js';
import { h, mount } from '../ui.js';

/** Render the login form; onLoggedIn(auth) runs after a successful login. */
export async function renderLogin(root, { onLoggedIn, notice }) {
  const device = await deviceId();
  const error = h('p', { class: 'warn', role: 'alert' }, notice || '');
  const form = h('form', { class: 'login', autocomplete: 'on', onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    error.textContent = '';
    if (!navigator.onLine) {
      error.textContent = t('login.offline');
      return;
    }
    try {
      const answer = await api('/auth/token', { method: 'POST', json: {
        username: data.get('username').trim(), password: data.get('password'), device_id: device } });
      const auth = { token: answer.token, expires_at: answer.expires_at, user: answer.user,
        device_key: answer.device_key || null };
      await setMeta('auth', auth);
      setToken(auth.token);
      onLoggedIn(auth);
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 0 ? t('login.offline')
        : t('login.failed', { message: err.message });
    }
  } },
  h('h2', {}, t('login.heading')),
  h('label', { for: 'login-username' }, t('login.username')),
  h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', 'data-testid': 'login-username' }),
  h('label', { for: 'login-password' }, t('login.password')),
  h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, 'data-testid': 'login-password' }),
  error,
  h('button', { type: 'submit', class: 'primary big', 'data-testid': 'login-submit' }, t('login.submit')),
  h('p', { class: 'muted small-print' }, t('login.device', { id: device.slice(0, 8) })));
  mount(root, form);
}
