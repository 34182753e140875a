// The sync bar: what is still only on this phone, the age of the oldest, 同步 and export.
import { allMedia, deviceId, listDrafts, listVisits, outboxEntries } from '../db.js';
import { t } from '../i18n.js';
import { syncNow, syncState } from '../sync.js';
import { formatAge, h, mount, toast } from '../ui.js';

/** Count what the server does not hold yet: outbox mutations and unconfirmed media. */
export async function pendingSummary() {
  const [outbox, media] = await Promise.all([outboxEntries(), allMedia()]);
  const items = [...outbox, ...media.filter((m) => m.submitted && !m.confirmed)];
  const oldest = items.map((i) => i.created_at).sort()[0] || null;
  return { count: items.length, oldest };
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** Download everything not yet on the server as one JSON file. */
export async function exportUnsynced() {
  const [outbox, media, drafts, visits, device] = await Promise.all([
    outboxEntries(), allMedia(), listDrafts(), listVisits(), deviceId()]);
  const encode = (obj) => JSON.parse(JSON.stringify(obj, (key, value) => (
    value instanceof ArrayBuffer ? { base64: toBase64(value) } : value)));
  const file = {
    format: 'spotcheck-unsynced/1',
    exported_at: new Date().toISOString(),
    device_id: device,
    outbox,
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
  toast(t('sync.export_done', { n: file.outbox.length + file.media.length + file.drafts.length }));
}

/** Render the sync bar into root. */
export async function renderStatus(root) {
  const { count, oldest } = await pendingSummary();
  const state = syncState();
  const [before, after] = t('sync.pending', { n: '\u0000' }).split('\u0000');
  const line = count
    ? h('p', { class: 'pending' }, before, h('strong', { 'data-testid': 'sync-pending' }, String(count)), after,
      oldest ? h('span', { class: 'muted' }, ` · ${t('sync.oldest', { age: formatAge(oldest) })}`) : null)
    : h('p', { class: 'pending ok' }, h('span', { 'data-testid': 'sync-pending', class: 'sr-count' }, '0'),
      t('sync.all_done'));
  mount(root,
    h('div', { class: 'syncbar', 'data-running': String(state.running) },
      line,
      state.running ? h('p', { class: 'muted' }, t('sync.running'))
        : !navigator.onLine ? h('p', { class: 'muted small-print' }, t('sync.offline'))
          : state.lastError ? h('p', { class: 'warn small-print', 'data-testid': 'sync-error' }, t('sync.failed', {
            message: state.lastError === 'network' ? t('error.network') : state.lastError })) : null,
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'primary', 'data-testid': 'sync-now',
          onclick: () => syncNow('manual') }, t('sync.now')),
        count ? h('button', { type: 'button', 'data-testid': 'sync-export', onclick: exportUnsynced },
          t('sync.export')) : null)));
}
