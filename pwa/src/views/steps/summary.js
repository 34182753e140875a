// Step 7: planned beside observed, what is still missing, and the seal (confirmed first).
import { shownRate } from '../../checks.js';
import { missingFiles } from '../../db.js';
import {
  attendanceFigures, baseRefused, collectSignins, computeChecks, mismatchLines, missingItems, selfSignins,
  sealDraft,
} from '../../draft.js';
import { t } from '../../i18n.js';
import { syncNow } from '../../sync.js';
import { h, statusPill } from '../../ui.js';
import { reportWriteFailure } from '../storage_errors.js';

/** The hashes of every file the sealed record would name (photos, trainees' signatures). */
function namedFiles(draft) {
  return [...draft.photos.map((p) => p.sha256),
    ...draft.signins.filter((s) => s.signature_sha256).map((s) => s.signature_sha256)];
}

function attendanceLine(draft) {
  const { roster, present } = attendanceFigures(draft);
  return t('summary.attendance', { p: present, n: roster, rate: shownRate(present, roster),
    h: draft.headcount === '' ? '—' : draft.headcount });
}

/** What sealing will fix for good, listed in the confirmation. */
function sealList(draft) {
  const signins = collectSignins(draft, new Date().toISOString());
  const signed = draft.signatures.inspectors.filter((s) => s.sha256).length
    + (baseRefused(draft) ? 0 : 1);
  return [
    t('seal.item_checks', { n: Object.keys(computeChecks(draft)).length }),
    t('seal.item_signins', { n: signins.length + selfSignins(draft).length }),
    t('seal.item_photos', { n: draft.photos.length }),
    t('seal.item_findings', { n: draft.findings.codes.length, verdict: t(`verdict.${draft.verdict}`) }),
    t('seal.item_signatures', { n: signed }),
    baseRefused(draft) ? t('seal.item_refused', { reason: draft.signatures.base.refused_reason.trim() }) : null,
  ].filter(Boolean);
}

function openSealConfirm(draft, navigate, button) {
  const close = () => dialog.remove();
  const proceed = h('button', { type: 'button', class: 'primary', 'data-testid': 'seal-proceed',
    onclick: async () => {
      proceed.disabled = true;
      try {
        await sealDraft(draft);
        close();
        sessionStorage.setItem('spotcheck-top', '1');
        navigate('#/');
        syncNow('save');
      } catch (error) {
        close();
        button.disabled = false;
        reportWriteFailure(error, t('what.record'), 'record');
      }
    } }, t('seal.proceed'));
  const dialog = h('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true', 'data-testid': 'seal-confirm',
    'aria-labelledby': 'seal-title' },
  h('div', { class: 'modal-box' },
    h('h2', { id: 'seal-title' }, t('seal.title')),
    h('p', {}, t('seal.intro')),
    h('ul', { 'data-testid': 'seal-list' }, sealList(draft).map((line) => h('li', {}, line))),
    h('p', { class: 'warn' }, t('seal.final')),
    h('div', { class: 'row' },
      h('button', { type: 'button', 'data-testid': 'seal-cancel', onclick: () => { close(); button.disabled = false; } },
        t('seal.cancel')),
      proceed)));
  document.body.append(dialog);
  proceed.focus();
}

/** Render the summary step with the seal button. */
export function renderSummary({ draft, navigate }) {
  const checks = computeChecks(draft);
  const lines = mismatchLines(draft, checks);
  const missing = missingItems(draft);
  const sigCount = [...draft.signatures.inspectors, draft.signatures.base].filter((s) => s.sha256).length;
  const missingBox = h('div', { class: 'warn', role: 'alert', 'data-testid': 'summary-missing',
    hidden: missing.length ? null : true },
  h('strong', {}, t('summary.missing')), h('ul', {}, missing.map((m) => h('li', {}, m))));
  const submit = h('button', { type: 'button', class: 'primary big', 'data-testid': 'visit-submit',
    disabled: true, 'data-files-checked': 'false', onclick: (event) => {
      event.target.disabled = true;
      openSealConfirm(draft, navigate, event.target);
    } }, t('summary.submit'));
  // A record that names a file the phone does not hold could never be complete: no seal then.
  missingFiles(namedFiles(draft)).then((absent) => {
    if (absent.length) {
      missingBox.hidden = false;
      missingBox.querySelector('ul').append(h('li', { 'data-testid': 'missing-files' },
        t('summary.files_missing', { n: absent.length })));
    }
    submit.disabled = missing.length > 0 || absent.length > 0;
    submit.dataset.filesChecked = 'true';
  });
  return [
    h('ul', { class: 'checklist' }, Object.entries(checks).map(([key, check]) =>
      h('li', { 'data-check': key, 'data-status': check.status },
        h('span', {}, t(`check.${key}`)), statusPill(check.status)))),
    h('h3', {}, t('summary.planned_observed')),
    h('ul', { class: 'compare', 'data-testid': 'summary-compare' },
      h('li', { 'data-key': 'teacher', class: draft.teacher.matches === false ? 'differs' : null },
        draft.teacher.matches === false
          ? t('summary.teacher', { planned: draft.filed.teacher?.name || '—',
            observed: draft.teacher.name.trim() || t('mismatch.unknown') })
          : t(draft.teacher.matches ? 'summary.teacher_same' : 'summary.teacher_open',
            { planned: draft.filed.teacher?.name || '—' })),
      h('li', { 'data-key': 'content', class: draft.content.matches === false ? 'differs' : null },
        draft.content.matches === false
          ? t('summary.content', { planned: draft.filed.session.topic,
            observed: draft.content.topic.trim() || t('mismatch.unknown') })
          : t(draft.content.matches ? 'summary.content_same' : 'summary.content_open',
            { planned: draft.filed.session.topic })),
      h('li', { 'data-key': 'attendance', class: checks.attendance.status === 'mismatch' ? 'differs' : null },
        attendanceLine(draft))),
    h('h3', {}, t('summary.mismatches')),
    lines.length
      ? h('ul', { class: 'mismatches', 'data-testid': 'summary-mismatches' }, lines.map((line) =>
        h('li', { 'data-key': line.key }, line.text)))
      : h('p', { 'data-testid': 'summary-mismatches' }, t('summary.none')),
    draft.verdict ? h('p', {}, `${t('verdict.heading')}：${t(`verdict.${draft.verdict}`)}`) : null,
    baseRefused(draft) ? h('p', { class: 'warn' }, t('seal.item_refused',
      { reason: draft.signatures.base.refused_reason.trim() })) : null,
    h('p', { class: 'muted' }, t('summary.photos', { n: draft.photos.length, s: sigCount })),
    missingBox,
    submit,
  ];
}
