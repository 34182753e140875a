// The field app: boot, routes, the update banner and the sync bar.
import { rememberAccount } from './accounts.js';
import { api, setToken } from './api.js';
import {
  adoptUnauthored, claimServerCache, deleteMeta, deviceIdFor, getMeta, requeueRejected, setActiveUser, setMeta,
} from './db.js';
import { initLanguage, t, toggleLanguage } from './i18n.js';
import { loadScope } from './scope.js';
import { startSyncLoop, syncEvents, syncNow } from './sync.js';
import { h, mount, toast } from './ui.js';
import { covertInfo, renderCovertSessions, renderList } from './views/list.js';
import { renderLogin } from './views/login.js';
import { renderRecord } from './views/record.js';
import { renderStatus, unsentSummary } from './views/status.js';
import { renderStart } from './views/start.js';
import { renderVisit } from './views/visit.js';

export { registerAttendanceExtension } from './views/steps/attendance.js';
import './views/signin_panel.js'; // QR badge scans and self sign-in codes on the attendance step

const app = document.getElementById('app');
const top = document.getElementById('head');
const banner = document.getElementById('banner');
let auth = null;
let waitingWorker = null;
let userAskedUpdate = false;
let syncLoopStarted = false;
let offlinePassword = null; // kept in memory only, to get a token once the network returns
const statusBox = h('div', { id: 'status' });

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** A visit is open: nothing may reload the page under the inspector. */
function inVisit() {
  return /^#\/(visit|start)\//.test(location.hash);
}

function renderHeader() {
  mount(top,
    h('div', { class: 'bar' },
      h('h1', {}, h('a', { href: '#/', class: 'home' }, t('app.title'))),
      h('span', { class: navigator.onLine ? 'net on' : 'net off', 'data-testid': 'network' },
        navigator.onLine ? t('app.online') : t('app.offline')),
      h('button', { type: 'button', class: 'small', 'aria-label': t('app.lang_switch'),
        'data-testid': 'lang-switch', onclick: () => { toggleLanguage(); route(); } }, t('app.lang_switch')),
      auth ? h('button', { type: 'button', class: 'small', 'data-testid': 'logout', onclick: askLogout },
        t('app.logout')) : null),
    auth && !inVisit() ? statusBox : null);
}

async function refreshStatus() {
  if (auth && !inVisit()) {
    await renderStatus(statusBox, { offlineSession: !auth.token, onLoginAgain: loginAgain });
  }
}

function showBanner() {
  if (waitingWorker && !inVisit()) {
    mount(banner, h('button', { type: 'button', class: 'update', 'data-testid': 'update-banner', onclick: () => {
      userAskedUpdate = true;
      waitingWorker.postMessage({ type: 'SKIP_WAITING' });
    } }, t('update.available')));
  } else {
    mount(banner);
  }
}

/** Logout; with records only on this phone, first say how many and ask (logout-confirm). */
async function askLogout() {
  const unsent = await unsentSummary();
  if (!unsent.total) {
    await logout();
    return;
  }
  const close = () => dialog.remove();
  const dialog = h('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true', 'data-testid': 'logout-confirm',
    'aria-labelledby': 'logout-title' },
  h('div', { class: 'modal-box' },
    h('h2', { id: 'logout-title' }, t('logout.title')),
    h('p', { 'data-testid': 'logout-count', 'data-count': String(unsent.total) },
      t('logout.count', { n: unsent.total })),
    unsent.drafts ? h('p', { class: 'muted' }, t('logout.drafts', { n: unsent.drafts })) : null,
    h('p', {}, t('logout.kept')),
    h('div', { class: 'row' },
      h('button', { type: 'button', 'data-testid': 'logout-cancel', onclick: close }, t('logout.cancel')),
      h('button', { type: 'button', class: 'primary danger', 'data-testid': 'logout-proceed',
        onclick: async () => { close(); await logout(); } }, t('logout.proceed')))));
  document.body.append(dialog);
  dialog.querySelector('[data-testid=logout-cancel]').focus();
}

async function logout() {
  if (auth?.token) {
    try {
      await api('/auth/revoke', { method: 'POST' });
    } catch {
      // Offline or already expired: the local login is forgotten either way.
    }
  }
  await deleteMeta('auth');
  auth = null;
  offlinePassword = null;
  setToken(null);
  setActiveUser(null);
  navigate('#/');
}

/** Make `who` the user whose records the app shows and pushes. */
async function becomeActive(who) {
  setActiveUser({ ...who.user, device_id: who.device_id });
  await claimServerCache(who.user.id);
}

function onLoggedIn(newAuth, password) {
  auth = newAuth;
  offlinePassword = newAuth.offline ? password : null;
  (async () => {
    await becomeActive(newAuth);
    // Records from before authors were kept belong to the owner of the phone's seq space.
    await adoptUnauthored({ ...newAuth.user, device_id: newAuth.device_id });
    if (!syncLoopStarted) {
      syncLoopStarted = true;
      startSyncLoop();
    } else {
      syncNow('login');
    }
    navigate('#/');
  })();
}

/** Logged in offline: once online, get a token with the password held in memory. */
async function reauthenticate() {
  if (!auth?.offline || !offlinePassword || !navigator.onLine) return;
  try {
    const answer = await api('/auth/token', { method: 'POST', json: {
      username: auth.user.username, password: offlinePassword, device_id: auth.device_id } });
    const fresh = { token: answer.token, expires_at: answer.expires_at, user: answer.user,
      device_key: answer.device_key || auth.device_key, device_id: auth.device_id };
    await rememberAccount(auth.user.username, offlinePassword, fresh);
    await setMeta('auth', fresh);
    auth = fresh;
    offlinePassword = null;
    setToken(fresh.token);
    syncNow('login');
  } catch {
    // Still no way through (or the password changed): the status bar offers to log in again.
  }
  renderHeader();
  refreshStatus();
}

/** An offline session without a password in memory: log in again, nothing on the phone is lost. */
export async function loginAgain() {
  const username = auth?.user?.username || '';
  await deleteMeta('auth');
  auth = null;
  setToken(null);
  setActiveUser(null);
  mount(app);
  await renderLogin(app, { onLoggedIn, username });
}

let routeSerial = 0;

async function route(notice) {
  const serial = ++routeSerial;
  // The status bar is filled before it is shown: nothing below it jumps when it arrives.
  await refreshStatus();
  renderHeader();
  showBanner();
  if (!auth) {
    await renderLogin(app, { onLoggedIn, notice });
    return;
  }
  const hash = location.hash || '#/';
  let m = hash.match(/^#\/visit\/([\w-]+)$/);
  if (m) {
    await renderVisit(app, { id: m[1], navigate });
    return;
  }
  m = hash.match(/^#\/record\/([\w-]+)$/);
  if (m) {
    await renderRecord(app, { id: m[1], navigate });
    return;
  }
  const scope = await loadScope();
  if (serial !== routeSerial) return; // a newer route already rendered
  m = hash.match(/^#\/start\/a\/([\w-]+)$/);
  if (m) {
    const item = scope.assignments.find((a) => a.id === m[1]);
    if (item) renderStart(app, { info: item, assignmentId: item.id, user: auth.user, navigate });
    else navigate('#/');
    return;
  }
  m = hash.match(/^#\/start\/c\/([\w-]+)\/([\w-]+)$/);
  if (m) {
    const info = covertInfo(scope, m[1], m[2]);
    if (info) renderStart(app, { info, assignmentId: null, user: auth.user, navigate });
    else navigate('#/');
    return;
  }
  m = hash.match(/^#\/covert\/([\w-]+)$/);
  if (m) {
    renderCovertSessions(app, { scope, classId: m[1], navigate });
    return;
  }
  await renderList(app, { scope, auth, navigate });
  app.dataset.ready = 'true';
  if (sessionStorage.getItem('spotcheck-top')) {
    // Just sealed: the list opens at the top, where the new record is.
    sessionStorage.removeItem('spotcheck-top');
    window.scrollTo(0, 0);
  }
}

async function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  const registration = await navigator.serviceWorker.register('sw.js', { scope: './' });
  const watch = (worker) => worker?.addEventListener('statechange', () => {
    if (worker.state === 'installed' && navigator.serviceWorker.controller) {
      waitingWorker = worker;
      showBanner();
    }
  });
  if (registration.waiting && navigator.serviceWorker.controller) waitingWorker = registration.waiting;
  watch(registration.installing);
  registration.addEventListener('updatefound', () => watch(registration.installing));
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // Only the inspector's tap reloads; the first install claims the page silently.
    if (userAskedUpdate) location.reload();
  });
  // The first install claims the pages open then; a page whose load was already under way (a
  // reload while the shell was precaching) or that bypassed the worker (a hard reload) is left
  // uncontrolled, with no offline answer for what it fetches: ask the active worker for it.
  navigator.serviceWorker.ready.then((ready) => {
    if (!navigator.serviceWorker.controller) ready.active?.postMessage({ type: 'CLAIM' });
  });
  const check = () => registration.update().catch(() => {});
  setInterval(check, 30 * 60_000);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') check();
  });
  showBanner();
}

async function boot() {
  initLanguage();
  navigator.storage?.persist?.().catch(() => {});
  registerWorker().catch((error) => console.warn('service worker', error));
  auth = (await getMeta('auth')) || null;
  if (auth && auth.expires_at && new Date(auth.expires_at) < new Date()) auth = null;
  if (auth && !auth.device_id) auth = { ...auth, device_id: await deviceIdFor(auth.user.username) };
  if (auth) {
    setToken(auth.token);
    await becomeActive(auth);
  }
  window.addEventListener('hashchange', () => route());
  window.addEventListener('online', renderHeader);
  window.addEventListener('online', reauthenticate);
  window.addEventListener('offline', renderHeader);
  syncEvents.addEventListener('change', refreshStatus);
  syncEvents.addEventListener('scope', async () => {
    // The scope or a plan changed: what the server refused before may be accepted now.
    if (auth && await requeueRejected({ onlyIfCursorChanged: true })) syncNow('retry');
    if (!inVisit()) route();
  });
  syncEvents.addEventListener('change', () => {
    if (auth && !inVisit() && (location.hash || '#/') === '#/') route();
  });
  syncEvents.addEventListener('auth', async () => {
    await deleteMeta('auth');
    auth = null;
    setToken(null);
    setActiveUser(null);
    if (!inVisit()) route(t('sync.session_expired'));
    else toast(t('sync.session_expired'));
  });
  await route();
  if (auth) {
    syncLoopStarted = true;
    startSyncLoop();
  }
}

boot();
