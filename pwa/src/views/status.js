// The status bar: what is still only on this phone, counted as a person would (records, with
// their photos and signatures), storage use, 同步 and export.
import { allMedia, deviceId, listDrafts, listRejected, listVisits, outboxEntries } from '../db.js';
import { t } from '../i18n.js';
import { syncNow, syncState } from '../sync.js';
import { formatAge, h, mount, toast } from '../ui.js';

const STORAGE_WARN = 0.8; // warn when the app uses this share of its quota

/**
 * What of the active user's work the server does not hold yet: sealed visits with an entry in
 * the outbox, a file not yet confirmed or their own submission refused (one record each, however
 * many sign-ins and files it has), other entries (one record each), and drafts apart. A refused
 * sign-in of a visit the server holds (a forged badge, say) does not keep the visit pending: the
 * server kept the refusal; the phone keeps the entry in its 未能上传 list (`refused`).
 */
export async function unsentSummary() {
  const [outbox, media, visits, drafts, rejected] = await Promise.all([
    outboxEntries(), allMedia(), listVisits(), listDrafts(), listRejected()]);
  const visitIds = new Set(visits.map((v) => v.id));
  const ofVisit = (entry, id) => entry.entity_id === id || entry.payload?.visit_id === id;
  const unconfirmed = media.filter((m) => m.submitted && !m.confirmed);
  const pendingVisits = visits.filter((v) => outbox.some((e) => ofVisit(e, v.id))
    || unconfirmed.some((m) => m.visit_id === v.id) || v.state === 'rejected');
  const loose = (e) => !visitIds.has(e.entity_id) && !visitIds.has(e.payload?.visit_id);
  const others = [...outbox, ...rejected].filter(loose);
  const refusedOfHeldVisits = rejected.filter((e) => !loose(e)
    && !pendingVisits.some((v) => ofVisit(e, v.id))).length;
  const photoShas = new Set(pendingVisits.flatMap((v) => (v.payload?.photos || []).map((p) => p.sha256)));
  const files = unconfirmed.filter((m) => pendingVisits.some((v) => v.id === m.visit_id));
  const photos = files.filter((m) => photoShas.has(m.sha256) || m.mime === 'image/jpeg').length;
  const oldest = [...outbox, ...unconfirmed].map((i) => i.created_at).filter(Boolean).sort()[0] || null;
  const records = pendingVisits.length + others.length;
  return {
    visits: pendingVisits.length, others: others.length, photos, signatures: files.length - photos,
    drafts: drafts.length, refused: rejected.length, records,
    total: records + drafts.length + refusedOfHeldVisits, oldest,
  };
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** Download everything of the active user not yet on the server (refused records too) as JSON. */
export async function exportUnsynced() {
  const [outbox, media, drafts, visits, rejected, device] = await Promise.all([
    outboxEntries(), allMedia(), listDrafts(), listVisits(), listRejected(), deviceId()]);
  const encode = (obj) => JSON.parse(JSON.stringify(obj, (key, value) => (
    value instanceof ArrayBuffer ? { base64: toBase64(value) } : value)));
  const file = {
    format: 'spotcheck-unsynced/1',
    exported_at: new Date().toISOString(),
    device_id: device,
    outbox,
    rejected,
    visits: visits.filter((v) => v.state !== 'pushed' || outbox.some((o) => o.entity_id === v.id)),
    drafts: encode(drafts),
    media: media.filter((m) => !m.confirmed && m.bytes).map((m) => ({
      sha256: m.sha256, mime: m.mime, size: m.size, visit_id: m.visit_id, base64: toBase64(m.bytes) })),
  };
  const blob = new Blob([JSON.stringify(file)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: `spotcheck-unsynced-${file.exported_at.replace(/[:.]/g, '-')}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  toast(t('sync.export_done', { n: file.outbox.length + file.rejected.length + file.media.length
    + file.drafts.length }));
}

/** The pending line: "1 份抽查记录（2 张照片、4 个签名）未上传", the number in sync-pending. */
function pendingLine(summary) {
  const count = h('strong', { 'data-testid': 'sync-pending' }, String(summary.records));
  const files = summary.photos || summary.signatures
    ? t('sync.files', { p: summary.photos, s: summary.signatures }) : '';
  const text = summary.others
    ? t('sync.pending_mixed', { v: summary.visits, o: summary.others, files })
    : t('sync.pending_visits', { files });
  return h('p', { class: 'pending', 'data-testid': 'sync-line' }, count, text,
    // "waiting 0 minutes" says nothing: the age shows from the first minute on.
    summary.oldest && Date.now() - new Date(summary.oldest).getTime() >= 60_000
      ? h('span', { class: 'muted' }, ` · ${t('sync.oldest', { age: formatAge(summary.oldest) })}`) : null);
}

async function storageLine() {
  if (!navigator.storage?.estimate) return null;
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  if (!quota) return null;
  const share = usage / quota;
  const mb = (n) => (n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0);
  return h('p', { class: share >= STORAGE_WARN ? 'warn small-print' : 'muted small-print',
    'data-testid': 'storage-use', 'data-share': share.toFixed(4), role: share >= STORAGE_WARN ? 'alert' : null },
  share >= STORAGE_WARN ? t('storage.nearly_full', { used: mb(usage), quota: mb(quota), pct: Math.round(share * 100) })
    : t('storage.use', { used: mb(usage), quota: mb(quota), pct: Math.max(1, Math.round(share * 100)) }));
}

/** Render the status bar into root. */
export async function renderStatus(root, { offlineSession = false, onLoginAgain = null } = {}) {
  // When this bar's figures were read (performance.now(), ms): renders overlap, so a bar on the
  // screen may have been read before the last sync or seal; data-as-of tells which.
  const asOf = performance.now();
  const [summary, storage] = await Promise.all([unsentSummary(), storageLine()]);
  const state = syncState();
  const line = summary.records
    ? pendingLine(summary)
    : h('p', { class: 'pending ok' }, h('span', { 'data-testid': 'sync-pending', class: 'sr-count' }, '0'),
      t('sync.all_done'));
  mount(root,
    h('div', { class: 'syncbar', 'data-running': String(state.running), 'data-as-of': asOf.toFixed(1) },
      line,
      offlineSession && navigator.onLine ? h('p', { class: 'warn small-print', 'data-testid': 'need-login' },
        t('sync.need_login')) : null,
      state.running ? h('p', { class: 'muted' }, t('sync.running'))
        : !navigator.onLine ? h('p', { class: 'muted small-print' }, t('sync.offline'))
          : state.lastError ? h('p', { class: 'warn small-print', 'data-testid': 'sync-error' },
            t('sync.failed_plain')) : null,
      storage,
      h('div', { class: 'row' },
        offlineSession && navigator.onLine && onLoginAgain
          ? h('button', { type: 'button', class: 'primary', 'data-testid': 'login-again', onclick: onLoginAgain },
            t('sync.login_again'))
          : h('button', { type: 'button', class: 'primary', 'data-testid': 'sync-now',
            onclick: () => syncNow('manual') }, t('sync.now')),
        summary.total ? h('button', { type: 'button', 'data-testid': 'sync-export', onclick: exportUnsynced },
          t('sync.export')) : null)));
}
