// The one module that owns IndexedDB. Stores:
//   meta    key/value: device id, login, pull cursor, next seq, last fix
//   cache   what the server sent by pull ({key: "type:id", type, id, data}); wiped on sync.reset
//   drafts  visits in progress, saved on every change
//   visits  sealed visits and their sync state (kept small: no media bytes)
//   outbox  mutations not yet acknowledged, keyed by seq
//   media   photos and signature PNGs by SHA-256: bytes kept until the server confirms them
// Nothing unrelated is awaited inside a transaction: hashing and sealing happen before.
import { openDB } from 'idb';

const DB_NAME = 'spotcheck';
let dbPromise = null;

/** Open (and create or upgrade) the database. */
export function db() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore('meta');
        database.createObjectStore('cache', { keyPath: 'key' }).createIndex('type', 'type');
        database.createObjectStore('drafts', { keyPath: 'id' });
        database.createObjectStore('visits', { keyPath: 'id' });
        database.createObjectStore('outbox', { keyPath: 'seq' });
        database.createObjectStore('media', { keyPath: 'sha256' }).createIndex('visit_id', 'visit_id');
      },
    });
  }
  return dbPromise;
}

export async function getMeta(key) {
  return (await db()).get('meta', key);
}

export async function setMeta(key, value) {
  return (await db()).put('meta', value, key);
}

export async function deleteMeta(key) {
  return (await db()).delete('meta', key);
}

/** Return this phone's device id, made once and kept for good (also across logins). */
export async function deviceId() {
  const tx = (await db()).transaction('meta', 'readwrite');
  let id = await tx.store.get('device_id');
  if (!id) {
    id = crypto.randomUUID();
    await tx.store.put(id, 'device_id');
  }
  await tx.done;
  return id;
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
  draft.updated_at = new Date().toISOString();
  return (await db()).put('drafts', draft);
}

export async function getDraft(id) {
  return (await db()).get('drafts', id);
}

export async function listDrafts() {
  return (await db()).getAll('drafts');
}

/** Keep a photo taken during a draft (bytes + hash) and add it to the draft, in one transaction. */
export async function addDraftPhoto(draft, media) {
  const tx = (await db()).transaction(['media', 'drafts'], 'readwrite');
  tx.objectStore('media').put({ ...media, visit_id: draft.id, submitted: false, confirmed: false,
    created_at: new Date().toISOString() });
  draft.photos.push({ sha256: media.sha256, size: media.size });
  draft.updated_at = new Date().toISOString();
  tx.objectStore('drafts').put(draft);
  await tx.done;
}

/**
 * Keep a trainee's signature PNG (bytes + hash) taken at a badge scan and put its hash on that
 * sign-in of the draft, in one transaction; the bytes upload with the visit's other media.
 */
export async function addSigninSignature(draft, signinId, media) {
  const tx = (await db()).transaction(['media', 'drafts'], 'readwrite');
  tx.objectStore('media').put({ ...media, visit_id: draft.id, submitted: false, confirmed: false,
    created_at: new Date().toISOString() });
  const signin = draft.signins.find((s) => s.id === signinId);
  if (signin) signin.signature_sha256 = media.sha256;
  draft.updated_at = new Date().toISOString();
  tx.objectStore('drafts').put(draft);
  await tx.done;
}

/** Remove a photo from a draft (and its bytes, unless another record uses the same picture). */
export async function removeDraftPhoto(draft, sha256) {
  const tx = (await db()).transaction(['media', 'drafts'], 'readwrite');
  draft.photos = draft.photos.filter((p) => p.sha256 !== sha256);
  const media = await tx.objectStore('media').get(sha256);
  if (media && !media.submitted) tx.objectStore('media').delete(sha256);
  tx.objectStore('drafts').put(draft);
  await tx.done;
}

export async function getMedia(sha256) {
  return (await db()).get('media', sha256);
}

/** Delete a draft and its unsubmitted photos. */
export async function discardDraft(id) {
  const tx = (await db()).transaction(['media', 'drafts'], 'readwrite');
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
  const tx = (await db()).transaction(['meta', 'outbox', 'visits', 'media', 'drafts'], 'readwrite');
  const meta = tx.objectStore('meta');
  let seq = (await meta.get('next_seq')) || 1;
  const now = new Date().toISOString();
  const seqs = [];
  for (const mutation of mutations) {
    tx.objectStore('outbox').put({ ...mutation, seq, created_at: now });
    seqs.push(seq);
    seq += 1;
  }
  meta.put(seq, 'next_seq');
  tx.objectStore('visits').put({ ...visit, seqs, state: 'local', created_at: now });
  const media = tx.objectStore('media');
  for (const item of signatureMedia) {
    media.put({ ...item, visit_id: visit.id, submitted: true, confirmed: false, created_at: now });
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

export async function outboxEntries() {
  return (await db()).getAll('outbox');
}

/** Record push results: acknowledged mutations leave the outbox and set their visit's state. */
export async function acknowledge(results) {
  const tx = (await db()).transaction(['outbox', 'visits'], 'readwrite');
  const outbox = tx.objectStore('outbox');
  const visits = tx.objectStore('visits');
  for (const result of results) {
    if (!['applied', 'flagged', 'rejected'].includes(result.status)) continue;
    const entry = await outbox.get(result.seq);
    if (!entry || entry.mutation_id !== result.mutation_id) continue;
    outbox.delete(result.seq);
    const visit = entry.type === 'visit.submit' ? await visits.get(entry.entity_id) : null;
    if (visit) {
      visits.put({ ...visit, state: result.status === 'applied' ? 'pushed' : result.status,
        code: result.code || null, message: result.message || null });
    }
  }
  await tx.done;
}

/** Media of sealed visits the server has not yet confirmed. */
export async function pendingMedia() {
  const all = await (await db()).getAll('media');
  return all.filter((m) => m.submitted && !m.confirmed);
}

export async function updateMedia(sha256, fields) {
  const tx = (await db()).transaction('media', 'readwrite');
  const row = await tx.store.get(sha256);
  if (row) tx.store.put({ ...row, ...fields });
  await tx.done;
}

/** The server holds these files (media/missing said so): drop the local bytes, keep the note. */
export async function confirmMedia(hashes) {
  const tx = (await db()).transaction('media', 'readwrite');
  for (const sha256 of hashes) {
    const row = await tx.store.get(sha256);
    if (row && row.submitted) {
      tx.store.put({ ...row, confirmed: true, bytes: null, upload_url: null });
    }
  }
  await tx.done;
}

export async function listVisits() {
  return (await db()).getAll('visits');
}

export async function allMedia() {
  return (await db()).getAll('media');
}
