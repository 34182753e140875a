// A sealed record, read-only: what was sealed, its state, and why the server refused it if it did.
import { allMedia, getVisit, listRejected } from '../db.js';
import { t } from '../i18n.js';
import { h, mount, statusPill } from '../ui.js';
import { rejectionText, visitState } from './list.js';
import { sessionLine } from './steps/common.js';

/** What was seen, with whether it matched the plan: "王秀英（不符）". */
function observedText(matches, value) {
  const said = matches === false ? t('check.mismatch') : matches ? t('check.match') : t('check.unverifiable');
  return `${value || t('mismatch.unknown')}（${said}）`;
}

/** Render the read-only view of the active user's sealed visit `id`. */
export async function renderRecord(root, { id, navigate }) {
  const [visit, media, rejected] = await Promise.all([getVisit(id), allMedia(), listRejected()]);
  if (!visit) {
    navigate('#/');
    return;
  }
  const state = visitState(visit, new Map(media.map((m) => [m.sha256, m])));
  const payload = visit.payload || {};
  const observed = payload.observed || {};
  const refusal = rejected.find((e) => e.entity_id === id || e.payload?.visit_id === id);
  const signatures = payload.signatures || [];
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value ?? '—')];
  mount(root,
    h('button', { type: 'button', class: 'link', onclick: () => navigate('#/') }, `‹ ${t('visit.back')}`),
    h('article', { class: 'record-view', 'data-testid': 'record-view', 'data-record-id': id },
      h('h2', {}, `${visit.covert ? `${t('visit.covert')} · ` : ''}${visit.class_name || ''}`),
      h('p', {}, h('span', { class: `pill pill-state-${state.key}` }, state.text)),
      refusal ? h('p', { class: 'warn', role: 'alert' }, `${t('rejected.heading')}：${rejectionText(refusal)}`) : null,
      h('dl', { class: 'info' },
        visit.session ? row(t('visit.session'), sessionLine(visit.session)) : null,
        row(t('visit.site'), visit.site_name || '—'),
        row(t('check.teacher'), observedText(observed.teacher_matches, observed.teacher_name)),
        row(t('check.content'), observedText(observed.content_matches, observed.topic)),
        row(t('attendance.headcount'), observed.headcount ?? '—'),
        // As counted at sealing; a record sealed before that was kept has only its ticks.
        h('dt', {}, t('record.present')), h('dd', { 'data-testid': 'record-present' },
          String(visit.present ?? (payload.present || []).length)),
        row(t('verdict.heading'), payload.verdict ? t(`verdict.${payload.verdict}`) : '—')),
      visit.checks ? h('ul', { class: 'checklist' }, Object.entries(visit.checks).map(([key, check]) =>
        h('li', { 'data-check': key, 'data-status': check.status }, h('span', {}, t(`check.${key}`)),
          statusPill(check.status)))) : null,
      (payload.findings || []).length ? [h('h3', {}, t('findings.codes')),
        h('ul', {}, payload.findings.map((f) => h('li', {}, f.text)))] : null,
      h('h3', {}, t('step.signatures')),
      h('ul', {}, signatures.map((s) => h('li', {},
        `${s.role === 'inspector' ? t('sign.inspector') : t('sign.base')}：${s.name}`)),
      payload.base_refused ? h('li', { 'data-testid': 'record-base-refused' },
        `${t('sign.base_refused')}：${payload.base_refused.reason}`) : null),
      h('p', { class: 'muted' }, t('summary.photos', { n: (payload.photos || []).length, s: signatures.length })),
      visit.seal ? h('p', { class: 'muted small-print' }, t('summary.seal', { seal: visit.seal.slice(0, 12) })) : null));
}
