// The one module that owns IndexedDB. Stores:
//   meta    key/value: device id, login, pull cursor, next seq, last fix
//   cache   what the server sent by pull ({key: "type:id", type, id, data}); wiped on sync.reset
//   drafts  visits in progress, saved on every change
//   visits  sealed visits and their sync state (kept small: no media bytes)
//   outbox  mutations not yet acknowledged, keyed by seq
//   media   photos and signature PNGs by SHA-256: bytes kept until the server confirms them
//   rejected  mutations the server refused, kept with the reason (never deleted; retried later)
//   sent    acknowledged mutations, kept (with their media bytes) for the keep period, so that
//           after a server restore the phone can re-send them from the seq the server names
// Every draft, visit, outbox entry, rejected entry and media row carries `user_id`, its author:
// the readers below return only the active user's rows, and the sync loop pushes only those,
// with that user's token and that user's device id (each user of a shared phone has their own
// seq space). Nothing unrelated is awaited inside a transaction: hashing and sealing happen before.
import { openDB } from 'idb';

import { recordId } from './ids.js';

const DB_NAME = 'spotcheck';
const AUTHORED = ['drafts', 'visits', 'outbox', 'media'];
let dbPromise = null;
let active = null; // {id, username, device_id}: whose records the app reads and pushes

/** Open (and create or upgrade) the database. */
export function db() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, 4, {
      async upgrade(database, oldVersion, _newVersion, tx) {
        if (oldVersion < 1) {
          database.createObjectStore('meta');
          database.createObjectStore('cache', { keyPath: 'key' }).createIndex('type', 'type');
          database.createObjectStore('drafts', { keyPath: 'id' });
          database.createObjectStore('visits', { keyPath: 'id' });
          database.createObjectStore('outbox', { keyPath: 'seq' });
          database.createObjectStore('media', { keyPath: 'sha256' }).createIndex('visit_id', 'visit_id');
        }
        if (oldVersion < 2) {
          database.createObjectStore('rejected', { keyPath: 'mutation_id' });
          if (oldVersion >= 1) await stampLegacyAuthor(tx);
        }
        if (oldVersion < 3) database.createObjectStore('sent', { keyPath: 'mutation_id' });
        if (oldVersion < 4) await keyOutboxByDevice(database, tx);
      },
    });
  }
  return dbPromise;
}

/**
 * Each user of a shared phone numbers their own seqs from 1, so the outbox is keyed by
 * "device:seq" (`key`), not by seq alone. A row put without a key gets a generated one.
 */
async function keyOutboxByDevice(database, tx) {
  const rows = await tx.objectStore('outbox').getAll();
  const phone = await tx.objectStore('meta').get('device_id');
  database.deleteObjectStore('outbox');
  const outbox = database.createObjectStore('outbox', { keyPath: 'key', autoIncrement: true });
  for (const row of rows) await outbox.put({ ...row, key: `${row.device_id || phone}:${row.seq}` });
}

/** The outbox key of an entry of `device`. */
function outboxKey(device, seq) {
  return `${device}:${seq}`;
}

/** Records of a phone from before authors were kept belong to the user logged in at the upgrade. */
async function stampLegacyAuthor(tx) {
  const meta = tx.objectStore('meta');
  const auth = await meta.get('auth');
  const phone = await meta.get('device_id');
  if (!auth?.user?.id) return;
  if (phone) await meta.put({ [auth.user.username]: phone }, 'devices');
  for (const name of AUTHORED) {
    const store = tx.objectStore(name);
    for (const row of await store.getAll()) {
      if (!row.user_id) await store.put({ ...row, user_id: auth.user.id });
    }
  }
}

/* global __TEST_HOOKS__ */
/**
 * Throw a storage-full error when a test asked writes to `stores` to fail. Test builds only: the
 * production build defines __TEST_HOOKS__ as false and the whole body is dropped from the bundle.
 */
function failOnPurpose(stores) {
  if (__TEST_HOOKS__) {
    const failing = (globalThis.localStorage?.getItem('spotcheck-test-fail-writes') || '').split(',');
    if (stores.some((s) => failing.includes(s))) {
      throw new DOMException('test: writes refused', 'QuotaExceededError');
    }
  }
}

/** A write transaction over `stores` (fails on purpose in test builds when asked). */
async function writeTx(stores) {
  failOnPurpose(Array.isArray(stores) ? stores : [stores]);
  return (await db()).transaction(stores, 'readwrite');
}

/** True when an error means the phone's storage is full (or refused the write for space). */
export function isStorageFull(error) {
  return error?.name === 'QuotaExceededError'
    || /quota|space|disk/i.test(String(error?.message || error?.inner?.message || ''));
}

// ---- users of this phone ----

/** Read and write as this user from now on (null: nobody is logged in). */
export function setActiveUser(user) {
  active = user ? { id: user.id, username: user.username, device_id: user.device_id } : null;
}

export function activeUser() {
  return active;
}

function mine(row) {
  return !!active && row.user_id === active.id;
}

export async function getMeta(key) {
  return (await db()).get('meta', key);
}

export async function setMeta(key, value) {
  const tx = await writeTx('meta');
  tx.store.put(value, key);
  await tx.done;
}

export async function deleteMeta(key) {
  return (await db()).delete('meta', key);
}

/** Return this phone's id, made once and kept for good (also across logins). */
export async function phoneId() {
  const tx = (await db()).transaction('meta', 'readwrite');
  let id = await tx.store.get('device_id');
  if (!id) {
    id = crypto.randomUUID(); // random, not a record id (ids.js)
    await tx.store.put(id, 'device_id');
  }
  await tx.done;
  return id;
}

/**
 * The device id a user logs in and pushes with. The phone's first user keeps the phone's id;
 * each further user gets their own, so their seqs never mix with another user's.
 */
export async function deviceIdFor(username) {
  const phone = await phoneId();
  const tx = (await db()).transaction('meta', 'readwrite');
  const devices = (await tx.store.get('devices')) || {};
  if (!devices[username]) {
    devices[username] = Object.values(devices).includes(phone) ? crypto.randomUUID() : phone;
    await tx.store.put(devices, 'devices');
  }
  await tx.done;
  return devices[username];
}

/** The device id of the active user (the phone's id when nobody is logged in). */
export async function deviceId() {
  return active?.device_id || phoneId();
}

function seqKey(device, phone) {
  return device === phone ? 'next_seq' : `next_seq:${device}`;
}

/**
 * Records without an author (written by an app from before authors were kept, in the phone's
 * own seq space) are adopted at the login of the user who owns that seq space.
 */
export async function adoptUnauthored(user) {
  const phone = await phoneId();
  if (user.device_id !== phone) return 0;
  const tx = (await db()).transaction(AUTHORED, 'readwrite');
  let adopted = 0;
  for (const name of AUTHORED) {
    const store = tx.objectStore(name);
    for (const row of await store.getAll()) {
      if (!row.user_id) {
        store.put({ ...row, user_id: user.id });
        adopted += 1;
      }
    }
  }
  await tx.done;
  return adopted;
}

// ---- server cache (pull) ----

/** Apply one page of pull changes and its cursor in one transaction. */
export async function applyPull(changes, cursor) {
  const tx = (await db()).transaction(['cache', 'meta'], 'readwrite');
  const cache = tx.objectStore('cache');
  for (const change of changes) {
    const key = `${change.type}:${change.id}`;
    if (change.op === 'delete') cache.delete(key);
    else cache.put({ key, type: change.type, id: change.id, data: change.data });
  }
  tx.objectStore('meta').put(cursor, 'cursor');
  await tx.done;
}

/** Forget everything the server sent (a sync.reset); never touches drafts, visits, outbox, media. */
export async function wipeServerCache() {
  const tx = (await db()).transaction(['cache', 'meta'], 'readwrite');
  tx.objectStore('cache').clear();
  tx.objectStore('meta').delete('cursor');
  await tx.done;
}

/** Return the data of every cached entity of one type, with its id. */
export async function listCached(type) {
  const rows = await (await db()).getAllFromIndex('cache', 'type', type);
  return rows.map((row) => ({ id: row.id, ...row.data }));
}

export async function getCached(type, id) {
  const row = await (await db()).get('cache', `${type}:${id}`);
  return row ? { id: row.id, ...row.data } : null;
}

// ---- drafts ----

export async function saveDraft(draft) {
  const tx = await writeTx('drafts');
  const row = { ...draft, user_id: draft.user_id || active?.id, updated_at: new Date().toISOString() };
  tx.store.put(row);
  await tx.done;
  draft.user_id = row.user_id;
  draft.updated_at = row.updated_at;
}

/** The active user's draft with this id (another user's draft is not there for them). */
export async function getDraft(id) {
  const draft = await (await db()).get('drafts', id);
  return draft && mine(draft) ? draft : undefined;
}

export async function listDrafts() {
  return (await (await db()).getAll('drafts')).filter(mine);
}

/**
 * Keep a photo taken during a draft (bytes + hash) and add it to the draft, in one transaction.
 * The draft object changes only once the write is on disk; a failed write leaves it as it was.
 */
export async function addDraftPhoto(draft, media) {
  const tx = await writeTx(['media', 'drafts']);
  tx.objectStore('media').put({ ...media, visit_id: draft.id, user_id: draft.user_id, submitted: false,
    confirmed: false, created_at: new Date().toISOString() });
  const photos = [...draft.photos, { sha256: media.sha256, size: media.size, taken_at: media.taken_at || null }];
  const updated = new Date().toISOString();
  tx.objectStore('drafts').put({ ...draft, photos, updated_at: updated });
  await tx.done;
  draft.photos = photos;
  draft.updated_at = updated;
}

/**
 * Keep a trainee's signature PNG (bytes + hash) taken at a badge scan and put its hash on that
 * sign-in of the draft, in one transaction; the bytes upload with the visit's other media.
 */
export async function addSigninSignature(draft, signinId, media) {
  const tx = await writeTx(['media', 'drafts']);
  tx.objectStore('media').put({ ...media, visit_id: draft.id, user_id: draft.user_id, submitted: false,
    confirmed: false, created_at: new Date().toISOString() });
  const signins = draft.signins.map((s) => (s.id === signinId ? { ...s, signature_sha256: media.sha256 } : s));
  const updated = new Date().toISOString();
  tx.objectStore('drafts').put({ ...draft, signins, updated_at: updated });
  await tx.done;
  draft.signins = signins;
  draft.updated_at = updated;
}

/** Remove a photo from a draft (and its bytes, unless another record uses the same picture). */
export async function removeDraftPhoto(draft, sha256) {
  const tx = await writeTx(['media', 'drafts']);
  const photos = draft.photos.filter((p) => p.sha256 !== sha256);
  const media = await tx.objectStore('media').get(sha256);
  if (media && !media.submitted) tx.objectStore('media').delete(sha256);
  tx.objectStore('drafts').put({ ...draft, photos });
  await tx.done;
  draft.photos = photos;
}

/** The hashes of the files a draft names that are not (or no longer) on this phone. */
export async function missingFiles(shas) {
  const database = await db();
  const missing = [];
  for (const sha256 of new Set(shas)) {
    const row = await database.get('media', sha256);
    if (!row || (!row.bytes && !row.confirmed)) missing.push(sha256);
  }
  return missing;
}

export async function getMedia(sha256) {
  return (await db()).get('media', sha256);
}

/** Delete a draft and its unsubmitted photos. */
export async function discardDraft(id) {
  const tx = await writeTx(['media', 'drafts']);
  const media = tx.objectStore('media');
  for (const row of await media.index('visit_id').getAll(id)) {
    if (!row.submitted) media.delete(row.sha256);
  }
  tx.objectStore('drafts').delete(id);
  await tx.done;
}

// ---- submit: the record, its outbox entry and its media in one transaction ----

/**
 * Store a sealed visit, its mutations (sign-ins first, then the visit; each takes the next
 * seq) and its media, and delete the draft: all in one transaction. Returns the seqs.
 */
export async function submitVisit({ visit, mutations, signatureMedia }) {
  if (!active) throw new Error('not logged in');
  const phone = await phoneId();
  const user_id = active.id;
  const key = seqKey(active.device_id, phone);
  const tx = await writeTx(['meta', 'outbox', 'visits', 'media', 'drafts']);
  const meta = tx.objectStore('meta');
  let seq = (await meta.get(key)) || 1;
  const now = new Date().toISOString();
  const seqs = [];
  for (const mutation of mutations) {
    tx.objectStore('outbox').put({ ...mutation, key: outboxKey(active.device_id, seq), seq, user_id,
      device_id: active.device_id, created_at: now });
    seqs.push(seq);
    seq += 1;
  }
  meta.put(seq, key);
  tx.objectStore('visits').put({ ...visit, seqs, user_id, state: 'local', created_at: now });
  const media = tx.objectStore('media');
  for (const item of signatureMedia) {
    media.put({ ...item, visit_id: visit.id, user_id, submitted: true, confirmed: false, created_at: now });
  }
  for (const sha256 of visit.media) {
    const row = await media.get(sha256);
    if (row && !row.submitted) media.put({ ...row, submitted: true, created_at: now });
  }
  tx.objectStore('drafts').delete(visit.id);
  await tx.done;
  return seqs;
}

// ---- sync state ----

/** The active user's outbox entries (the ones the sync loop may push with their token). */
export async function outboxEntries() {
  return (await (await db()).getAll('outbox')).filter(mine);
}

/**
 * Record push results: acknowledged mutations leave the outbox and set their visit's state.
 * A rejected one moves to the `rejected` store with the reason and the pull cursor of the time,
 * so it can be shown, exported and sent again once the scope or the plan has changed.
 */
export async function acknowledge(results) {
  const tx = (await db()).transaction(['outbox', 'visits', 'rejected', 'meta', 'sent'], 'readwrite');
  const outbox = tx.objectStore('outbox');
  const visits = tx.objectStore('visits');
  const cursor = (await tx.objectStore('meta').get('cursor')) || null;
  const now = new Date().toISOString();
  // The entries just pushed: the active user's (another user's entries may share a seq number).
  const pushed = (await outbox.getAll()).filter(mine);
  for (const result of results) {
    if (!['applied', 'flagged', 'rejected'].includes(result.status)) continue;
    const entry = pushed.find((e) => e.seq === result.seq && e.mutation_id === result.mutation_id);
    if (!entry) continue;
    outbox.delete(entry.key);
    if (result.status !== 'rejected') tx.objectStore('sent').put({ ...entry, acked_at: now });
    if (result.status === 'rejected') {
      tx.objectStore('rejected').put({ ...entry, code: result.code || null, message: result.message || null,
        rejected_at: now, cursor });
    }
    const visit = entry.type === 'visit.submit' ? await visits.get(entry.entity_id) : null;
    if (visit) {
      visits.put({ ...visit, state: result.status === 'applied' ? 'pushed' : result.status,
        code: result.code || null, message: result.message || null });
    }
  }
  await tx.done;
}

/** The active user's rejected entries, oldest first. */
export async function listRejected() {
  const rows = (await (await db()).getAll('rejected')).filter(mine);
  return rows.sort((a, b) => a.seq - b.seq);
}

/**
 * Send the active user's rejected entries again (when the scope or plan changed since, or on
 * request): each gets a new mutation id and the next seq, in its old order; visits go back to
 * 仅在本机. `onlyIfCursorChanged` keeps entries rejected at the current cursor where they are.
 */
export async function requeueRejected({ onlyIfCursorChanged = false } = {}) {
  if (!active) return 0;
  const phone = await phoneId();
  const key = seqKey(active.device_id, phone);
  const tx = await writeTx(['meta', 'outbox', 'visits', 'rejected']);
  const meta = tx.objectStore('meta');
  const cursor = (await meta.get('cursor')) || null;
  const rows = (await tx.objectStore('rejected').getAll()).filter(mine)
    .filter((row) => !onlyIfCursorChanged || row.cursor !== cursor)
    .sort((a, b) => a.seq - b.seq);
  let seq = (await meta.get(key)) || 1;
  for (const row of rows) {
    const { code: _code, message: _message, rejected_at: _at, cursor: _cursor, ...entry } = row;
    tx.objectStore('rejected').delete(row.mutation_id);
    tx.objectStore('outbox').put({ ...entry, key: outboxKey(active.device_id, seq), mutation_id: recordId(),
      seq, device_id: active.device_id,
      retried_from: row.mutation_id });
    if (entry.type === 'visit.submit') {
      const visit = await tx.objectStore('visits').get(entry.entity_id);
      if (visit) tx.objectStore('visits').put({ ...visit, state: 'local', code: null, message: null });
    }
    seq += 1;
  }
  meta.put(seq, key);
  await tx.done;
  return rows.length;
}

/** Media of the active user's sealed visits the server has not yet confirmed. */
export async function pendingMedia() {
  const all = await (await db()).getAll('media');
  return all.filter((m) => m.submitted && !m.confirmed && mine(m));
}

export async function updateMedia(sha256, fields) {
  const tx = (await db()).transaction('media', 'readwrite');
  const row = await tx.store.get(sha256);
  if (row) tx.store.put({ ...row, ...fields });
  await tx.done;
}

/**
 * The server holds these files (media/missing said so). The bytes stay for the keep period
 * (pruneKept drops them), so a server restored from an older backup can get them again.
 */
export async function confirmMedia(hashes) {
  const tx = (await db()).transaction('media', 'readwrite');
  const now = new Date().toISOString();
  for (const sha256 of hashes) {
    const row = await tx.store.get(sha256);
    if (row && row.submitted) {
      tx.store.put({ ...row, confirmed: true, confirmed_at: row.confirmed_at || now, upload_url: null });
    }
  }
  await tx.done;
}

/** Forget acknowledged mutations, and the bytes of confirmed media, older than keepDays. */
export async function pruneKept(keepDays) {
  const before = new Date(Date.now() - keepDays * 86_400_000).toISOString();
  const tx = (await db()).transaction(['sent', 'media'], 'readwrite');
  for (const row of await tx.objectStore('sent').getAll()) {
    if (row.acked_at < before) tx.objectStore('sent').delete(row.mutation_id);
  }
  for (const row of await tx.objectStore('media').getAll()) {
    if (row.confirmed && row.bytes && (row.confirmed_at || '') < before) {
      tx.objectStore('media').put({ ...row, bytes: null });
    }
  }
  await tx.done;
}

/** The highest acknowledged seq the phone still holds in the active user's seq space (0: none). */
export async function lastSentSeq() {
  if (!active) return 0;
  const phone = await phoneId();
  const rows = (await (await db()).getAll('sent'))
    .filter((row) => mine(row) && (row.device_id || phone) === active.device_id);
  return rows.reduce((top, row) => Math.max(top, row.seq), 0);
}

/**
 * The server expects seq `from` next (a restore took its ledger back): put every mutation of
 * the active user's seq space the phone still holds from there on (acknowledged ones kept in
 * `sent`, and the outbox) back into the outbox, numbered from `from` in their old order. A
 * renumbered mutation gets a new mutation id; the server stores each record once. Their media
 * are checked with the server again. Returns how many mutations are queued.
 */
export async function resendFrom(from) {
  if (!active) return 0;
  const phone = await phoneId();
  const key = seqKey(active.device_id, phone);
  const tx = await writeTx(['meta', 'outbox', 'sent', 'visits', 'media']);
  const own = (row) => mine(row) && (row.device_id || phone) === active.device_id;
  const sent = (await tx.objectStore('sent').getAll()).filter(own).filter((row) => row.seq >= from);
  const queued = (await tx.objectStore('outbox').getAll()).filter(own);
  const held = [...sent, ...queued].sort((a, b) => a.seq - b.seq);
  for (const row of queued) tx.objectStore('outbox').delete(row.key);
  for (const row of sent) tx.objectStore('sent').delete(row.mutation_id);
  let seq = from;
  for (const row of held) {
    const { acked_at: _acked, ...entry } = row;
    const mutation_id = entry.seq === seq ? entry.mutation_id : recordId();
    tx.objectStore('outbox').put({ ...entry, key: outboxKey(active.device_id, seq), seq, mutation_id });
    if (entry.type === 'visit.submit') {
      const visit = await tx.objectStore('visits').get(entry.entity_id);
      if (visit) tx.objectStore('visits').put({ ...visit, state: 'local' });
      for (const media of await tx.objectStore('media').index('visit_id').getAll(entry.entity_id)) {
        if (media.bytes) tx.objectStore('media').put({ ...media, confirmed: false });
      }
    }
    seq += 1;
  }
  tx.objectStore('meta').put(seq, key);
  await tx.done;
  return held.length;
}

export async function listVisits() {
  return (await (await db()).getAll('visits')).filter(mine);
}

export async function getVisit(id) {
  const visit = await (await db()).get('visits', id);
  return visit && mine(visit) ? visit : undefined;
}

/** The active user's media rows. */
export async function allMedia() {
  return (await (await db()).getAll('media')).filter(mine);
}

/** The server cache belongs to one user's scope: a different user starts from an empty one. */
export async function claimServerCache(userId) {
  const owner = await getMeta('cache_user');
  if (owner && owner !== userId) await wipeServerCache();
  await setMeta('cache_user', userId);
}
