// The sync loop: push the outbox, upload media by tus, pull the scope. One run at a time
// (Web Locks, also across tabs); failures back off exponentially with jitter.
import { ApiError, api, hasToken } from './api.js';
import {
  acknowledge, applyPull, confirmMedia, deviceId, getMeta, outboxEntries, lastSentSeq, pendingMedia, pruneKept, resendFrom,
  setMeta, wipeServerCache,
} from './db.js';
import { setJudging } from './checks.js';
import { describeError } from './i18n.js';
import { upload } from './tus.js';

export const syncEvents = new EventTarget();
const LOCK = 'spotcheck-sync';
const TIMER_MS = 60_000;
const MAX_BACKOFF_MS = 5 * 60_000;
// Acknowledged evidence (and its media bytes) stays on the phone this many days, so it can be
// re-sent after a server restore; the build sets it from PHONE_KEEP_DAYS (default 30).
/* global __PHONE_KEEP_DAYS__ */
const KEEP_DAYS = typeof __PHONE_KEEP_DAYS__ !== 'undefined' ? __PHONE_KEEP_DAYS__ : 30;
const state = { running: false, failures: 0, lastError: null, lastOk: null, nextTry: 0 };
let again = false;
let timer = null;
let retryTimer = null;

export function syncState() {
  return { ...state };
}

function emit(type, detail = {}) {
  syncEvents.dispatchEvent(new CustomEvent(type, { detail }));
}

/** Run a sync now (or right after the one in progress). Timer runs respect the back-off. */
export async function syncNow(reason = 'manual') {
  if (!hasToken()) return;
  if (!navigator.onLine) {
    // Offline is the normal state in the field, not a failure: the 'online' event resumes.
    state.lastError = null;
    emit('change');
    return;
  }
  if (reason === 'timer' && Date.now() < state.nextTry) return;
  if (!navigator.locks) return runLoop();
  await navigator.locks.request(LOCK, { ifAvailable: true }, async (lock) => {
    if (!lock) {
      again = true; // another run holds the lock; it will go round once more
      return;
    }
    await runLoop();
  });
}

async function runLoop() {
  do {
    again = false;
    await runOnce();
  } while (again && state.failures === 0);
}

async function runOnce() {
  state.running = true;
  emit('change');
  try {
    await pushOutbox();
    await uploadMedia();
    if (await pullScope()) {
      // A new server epoch (e.g. a restore): resend what the server's ledger lost, if anything.
      if (await recoverLostSeqs()) {
        await pushOutbox();
        await uploadMedia();
      }
    }
    state.failures = 0;
    state.lastError = null;
    state.lastOk = new Date().toISOString();
    state.nextTry = 0;
  } catch (error) {
    state.failures += 1;
    state.lastError = error instanceof ApiError && error.status === 0 ? 'network' : describeError(error);
    const base = Math.min(MAX_BACKOFF_MS, 2000 * 2 ** (state.failures - 1));
    const delay = base * (0.5 + Math.random());
    state.nextTry = Date.now() + delay;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => syncNow('timer'), delay + 10);
    if (error instanceof ApiError && error.status === 401) emit('auth');
  } finally {
    state.running = false;
    emit('change');
  }
}

/**
 * Send the outbox in seq order; acknowledged mutations leave it (kept in `sent` a while). A gap
 * answered with `resend_from` (the server lost seqs, e.g. restored from a backup) re-queues
 * everything the phone still holds from that seq on, and sending goes on.
 */
async function pushOutbox() {
  const device_id = await deviceId();
  await pruneKept(KEEP_DAYS);
  for (let round = 0, resends = 0; round < 100; round++) {
    const entries = (await outboxEntries()).sort((a, b) => a.seq - b.seq).slice(0, 50);
    if (!entries.length) return;
    // client_time is the device clock at sending: the server compares it with its own to
    // detect a wrong clock, so it must not be the (possibly hours old) time of the capture.
    const client_time = new Date().toISOString();
    const mutations = entries.map(({ mutation_id, seq, type, entity_id, base, payload }) => (
      { mutation_id, seq, type, entity_id, client_time, base, payload }));
    const answer = await api('/sync/push', { method: 'POST', json: { device_id, mutations } });
    await acknowledge(answer.results);
    emit('change');
    const gap = answer.results.find((r) => r.status === 'gap');
    if (gap && Number.isInteger(answer.resend_from) && resends < 3) {
      resends += 1;
      await resendFrom(answer.resend_from);
      emit('change');
      continue;
    }
    if (gap) throw new Error(`seq gap at ${gap.seq} (server has ${answer.last_seq})`);
  }
}

/** Upload what the server does not hold; drop local bytes only once media/missing agrees. */
async function uploadMedia() {
  let pending = await pendingMedia();
  if (!pending.length) return;
  const ask = async (items) => api('/media/missing', { method: 'POST',
    json: { sha256: items.map((m) => m.sha256) } });
  let answer = await ask(pending);
  const missing = new Set(answer.missing);
  await confirmMedia(pending.filter((m) => !missing.has(m.sha256)).map((m) => m.sha256));
  emit('change');
  pending = pending.filter((m) => missing.has(m.sha256) && m.bytes);
  for (const media of pending) {
    await upload(media, () => emit('progress', { sha256: media.sha256 }));
  }
  if (!pending.length) return;
  answer = await ask(pending);
  const still = new Set(answer.missing);
  await confirmMedia(pending.filter((m) => !still.has(m.sha256)).map((m) => m.sha256));
  emit('change');
  if (still.size) throw new Error(`${still.size} files not yet on the server`);
}

/**
 * Ask the server for its last seq of this device (an empty push); when the phone holds
 * acknowledged mutations after it, the server lost them (a restore): queue them again.
 */
async function recoverLostSeqs() {
  const device_id = await deviceId();
  const answer = await api('/sync/push', { method: 'POST', json: { device_id, mutations: [] } });
  if ((await lastSentSeq()) <= answer.last_seq) return false;
  await resendFrom(answer.last_seq + 1);
  emit('change');
  return true;
}

/**
 * Pull the scope page by page; a sync.reset wipes the server cache (never the outbox).
 * Returns true when the server answered sync.reset.
 */
async function pullScope() {
  let cursor = await getMeta('cursor');
  let resets = 0;
  for (let pages = 0; pages < 1000; pages++) {
    const query = `limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    let page;
    try {
      page = await api(`/sync/pull?${query}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && error.code === 'sync.reset' && resets < 3) {
        resets += 1;
        await wipeServerCache();
        cursor = null;
        continue;
      }
      throw error;
    }
    await applyPull(page.changes, page.cursor);
    if (page.judging) {
      // The server's judging settings as they are now (every page carries them): the phone's
      // checks judge by what the server will judge the next push by, kept for offline starts.
      setJudging(page.judging);
      await setMeta('judging', page.judging);
    }
    cursor = page.cursor;
    if (page.changes.length) emit('scope');
    if (!page.has_more) break;
  }
  await setMeta('last_pull', new Date().toISOString());
  return resets > 0;
}

/** Start syncing on start, when the network returns, when the app is shown, and on a timer. */
export function startSyncLoop() {
  window.addEventListener('online', () => syncNow('online'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') syncNow('visible');
  });
  clearInterval(timer);
  timer = setInterval(() => syncNow('timer'), TIMER_MS);
  syncNow('start');
}
