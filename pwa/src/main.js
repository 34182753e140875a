// The field app: boot, routes, the update banner and the sync bar.
import { api, setToken } from './api.js';
import { deleteMeta, getMeta } from './db.js';
import { initLanguage, t, toggleLanguage } from './i18n.js';
import { loadScope } from './scope.js';
import { startSyncLoop, syncEvents, syncNow } from './sync.js';
import { h, mount, toast } from './ui.js';
import { covertInfo, renderCovertSessions, renderList } from './views/list.js';
import { renderLogin } from './views/login.js';
import { renderStatus } from './views/status.js';
import { renderStart } from './views/start.js';
import { renderVisit } from './views/visit.js';

export { registerAttendanceExtension } from './views/steps/attendance.js';
import './views/signin_panel.js'; // QR badge scans and self sign-in codes on the attendance step

const app = document.getElementById('app');
const top = document.getElementById('top');
const banner = document.getElementById('banner');
let auth = null;
let waitingWorker = null;
let userAskedUpdate = false;
let syncLoopStarted = false;
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
      auth ? h('button', { type: 'button', class: 'small', onclick: logout }, t('app.logout')) : null),
    auth && !inVisit() ? statusBox : null);
}

async function refreshStatus() {
  if (auth && !inVisit()) await renderStatus(statusBox);
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

async function logout() {
  try {
    await api('/auth/revoke', { method: 'POST' });
  } catch {
    // Offline or already expired: the local login is forgotten either way.
  }
  await deleteMeta('auth');
  auth = null;
  setToken(null);
  navigate('#/');
}

function onLoggedIn(newAuth) {
  auth = newAuth;
  if (!syncLoopStarted) {
    syncLoopStarted = true;
    startSyncLoop();
  } else {
    syncNow('login');
  }
  navigate('#/');
}

let routeSerial = 0;

async function route(notice) {
  const serial = ++routeSerial;
  renderHeader();
  showBanner();
  if (!auth) {
    await renderLogin(app, { onLoggedIn, notice });
    return;
  }
  await refreshStatus();
  const hash = location.hash || '#/';
  let m = hash.match(/^#\/visit\/([\w-]+)$/);
  if (m) {
    await renderVisit(app, { id: m[1], navigate });
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
  if (auth) setToken(auth.token);
  window.addEventListener('hashchange', () => route());
  window.addEventListener('online', renderHeader);
  window.addEventListener('offline', renderHeader);
  syncEvents.addEventListener('change', refreshStatus);
  syncEvents.addEventListener('scope', () => { if (!inVisit()) route(); });
  syncEvents.addEventListener('change', () => {
    if (auth && !inVisit() && (location.hash || '#/') === '#/') route();
  });
  syncEvents.addEventListener('auth', async () => {
    await deleteMeta('auth');
    auth = null;
    setToken(null);
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
