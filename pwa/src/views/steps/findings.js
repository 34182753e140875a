// Step 5: findings by rule of the notice, a free text and the verdict.
import { computeChecks, FINDING_CODES } from '../../draft.js';
import { t } from '../../i18n.js';
import { h } from '../../ui.js';

/** Render the findings and verdict step. */
export function renderFindings({ draft, save, rerender }) {
  const checks = computeChecks(draft);
  const codes = FINDING_CODES.map((code) => h('li', {}, h('label', { class: 'check-row' },
    h('input', { type: 'checkbox', checked: draft.findings.codes.includes(code), 'data-code': code,
      onchange: (e) => {
        const set = new Set(draft.findings.codes);
        if (e.target.checked) set.add(code); else set.delete(code);
        draft.findings.codes = FINDING_CODES.filter((c) => set.has(c));
        save();
      } }), ` ${t(`code.${code}`)}`)));
  const verdict = (value, testid) => h('button', {
    type: 'button', class: draft.verdict === value ? 'choice on' : 'choice', 'data-testid': testid,
    'aria-pressed': String(draft.verdict === value),
    onclick: () => { draft.verdict = value; save(); rerender(); },
  }, t(`verdict.${value}`));
  const mismatches = Object.entries(checks).filter(([, c]) => c.status === 'mismatch');
  return [
    mismatches.length ? h('p', { class: 'warn' }, `${t('summary.mismatches')}：`
      + mismatches.map(([k]) => t(`check.${k}`)).join('、')) : null,
    h('h3', {}, t('findings.codes')),
    h('ul', { class: 'codes' }, codes),
    h('label', { for: 'finding-text' }, t('findings.text')),
    h('textarea', { id: 'finding-text', rows: '4', 'data-testid': 'finding-text',
      oninput: (e) => { draft.findings.text = e.target.value; save(); } }, draft.findings.text),
    h('h3', {}, t('verdict.heading')),
    h('div', { class: 'verdicts', role: 'group', 'aria-label': t('verdict.heading') },
      verdict('compliant', 'verdict-compliant'), verdict('issues', 'verdict-issues'),
      verdict('could_not_inspect', 'verdict-none')),
  ];
}
