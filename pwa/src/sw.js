// The service worker: precache the versioned shell, serve it with no network, drop old caches.
// API data is never cached here: it lives in IndexedDB.
/* global __SHELL_VERSION__, __SHELL_FILES__ */
const VERSION = __SHELL_VERSION__;
const FILES = __SHELL_FILES__;
const PREFIX = 'spotcheck-shell-';
const CACHE = `${PREFIX}${VERSION}`;
const SCOPE = new URL('./', self.location).pathname;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // 'reload' skips the HTTP cache so a new version never precaches an old file.
    await cache.addAll(FILES.map((file) => new Request(file, { cache: 'reload' })));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') self.skipWaiting();
  if (event.data?.type === 'CLAIM') event.waitUntil(self.clients.claim()); // an uncontrolled page
  if (event.data?.type === 'VERSION') event.source?.postMessage({ type: 'VERSION', version: VERSION });
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith(SCOPE) || url.pathname.startsWith('/api/')) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    if (request.mode === 'navigate') {
      const shell = await cache.match('./');
      if (shell) return shell;
    } else {
      const hit = await cache.match(request, { ignoreSearch: true });
      if (hit) return hit;
    }
    return fetch(request);
  })());
});
