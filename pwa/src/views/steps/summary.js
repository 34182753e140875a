// Step 7: what was found, what is still missing, and the seal.
import { computeChecks, missingItems, sealDraft } from '../../draft.js';
import { t } from '../../i18n.js';
import { syncNow } from '../../sync.js';
import { h, statusPill, toast } from '../../ui.js';
import { placeText, timeText } from './common.js';

/** Render the summary step with the seal button. */
export function renderSummary({ draft, navigate }) {
  const checks = computeChecks(draft);
  const mismatches = Object.entries(checks).filter(([, c]) => c.status === 'mismatch');
  const missing = missingItems(draft);
  const sigCount = [...draft.signatures.inspectors, draft.signatures.base].filter((s) => s.sha256).length;
  return [
    h('ul', { class: 'checklist' }, Object.entries(checks).map(([key, check]) =>
      h('li', { 'data-check': key, 'data-status': check.status },
        h('span', {}, t(`check.${key}`)), statusPill(check.status)))),
    h('h3', {}, t('summary.mismatches')),
    mismatches.length
      ? h('ul', { class: 'mismatches', 'data-testid': 'summary-mismatches' }, mismatches.map(([key]) =>
        h('li', {}, `${t(`check.${key}`)}：${key === 'place' ? placeText(draft, checks.place)
          : key === 'time' ? timeText(draft, checks.time) : t('check.mismatch')}`)))
      : h('p', { 'data-testid': 'summary-mismatches' }, t('summary.none')),
    draft.verdict ? h('p', {}, `${t('verdict.heading')}：${t(`verdict.${draft.verdict}`)}`) : null,
    h('p', { class: 'muted' }, t('summary.photos', { n: draft.photos.length, s: sigCount })),
    missing.length ? h('div', { class: 'warn', role: 'alert' }, h('strong', {}, t('summary.missing')),
      h('ul', {}, missing.map((m) => h('li', {}, m)))) : null,
    h('button', { type: 'button', class: 'primary big', 'data-testid': 'visit-submit',
      disabled: missing.length > 0, onclick: async (event) => {
        event.target.disabled = true;
        try {
          const seal = await sealDraft(draft);
          toast(`${t('summary.saved')} · ${t('summary.seal', { seal: seal.slice(0, 12) })}`);
          navigate('#/');
          syncNow('save');
        } catch (error) {
          event.target.disabled = false;
          toast(error.message);
        }
      } }, t('summary.submit')),
  ];
}
