// The attendance step: headcount and roster toggles. Other capture methods (QR badge scans)
// plug in with registerAttendanceExtension without touching this file.
import { t } from '../../i18n.js';
import { attendanceFigures, selfSignins } from '../../draft.js';
import { h } from '../../ui.js';

const extensions = [];

/**
 * Add a block to the attendance step. `render(ctx)` returns a Node (or null) and gets
 * {draft, roster, save, rerender, markPresent(traineeId, signin?)}, where signin is
 * {id, trainee_id, method: 'badge'|'self'|'manual', at, gps?, badge_token?, signature_sha256?};
 * it becomes a signin.create mutation when the visit is sealed.
 */
export function registerAttendanceExtension(render) {
  extensions.push(render);
}

/** Render the attendance step into a list of nodes. */
export function renderAttendance({ draft, save, rerender }) {
  const roster = draft.filed.roster;
  // Signed in as the server will count it: a captured sign-in stays whatever the toggle says.
  const { present: presentCount, signed, captured } = attendanceFigures(draft);
  const markPresent = (traineeId, signin) => {
    draft.present[traineeId] = true;
    if (signin && !draft.signins.some((s) => s.id === signin.id)) draft.signins.push(signin);
    save();
    rerender();
  };
  const headcount = h('input', {
    id: 'headcount', type: 'number', inputmode: 'numeric', min: '0', max: '999',
    'data-testid': 'headcount', value: draft.headcount,
    oninput: (event) => {
      draft.headcount = event.target.value;
      save();
      summary.textContent = summaryText();
    },
  });
  const summaryText = () => t('attendance.summary', {
    n: roster.length, p: presentCount,
    h: draft.headcount === '' ? '—' : draft.headcount });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' }, summaryText());
  // How each trainee came to be present: a badge scan, their own phone, or the inspector's tap.
  const methodOf = new Map();
  for (const signin of [...draft.signins, ...selfSignins(draft)]) {
    if (signin.trainee_id && !methodOf.has(signin.trainee_id)) methodOf.set(signin.trainee_id, signin.method);
  }
  const rows = roster.map((trainee) => {
    const present = signed.has(trainee.trainee_id);
    const kept = captured.has(trainee.trainee_id);
    const method = present ? (methodOf.get(trainee.trainee_id) || 'manual') : 'none';
    return h('li', {},
      h('button', {
        type: 'button', class: `attendee ${present ? 'present' : 'absent'} method-${method}`,
        'data-testid': 'attendee', 'data-present': String(present), 'aria-pressed': String(present),
        'data-trainee-id': trainee.trainee_id, 'data-method': method,
        'aria-disabled': String(kept),
        onclick: () => {
          if (kept) return; // a captured sign-in is evidence: the record keeps it
          draft.present[trainee.trainee_id] = !present;
          save();
          rerender();
        },
      }, h('span', { class: 'name' }, trainee.name,
        trainee.id_tail ? h('span', { class: 'id-tail', 'data-testid': 'id-tail' },
          t('attendance.id_tail', { tail: trainee.id_tail })) : null),
      h('span', { class: 'mark' }, present ? t(`attendance.by_${method}`) : t('attendance.absent'))));
  });
  const ctx = { draft, roster, save, rerender, markPresent };
  return [
    h('label', { for: 'headcount' }, t('attendance.headcount')),
    headcount,
    summary,
    ...extensions.map((render) => render(ctx)).filter(Boolean),
    h('div', { class: 'row-between' },
      h('h3', {}, t('attendance.roster')),
      h('button', { type: 'button', class: 'small', onclick: () => {
        for (const r of roster) draft.present[r.trainee_id] = true;
        save();
        rerender();
      } }, t('attendance.all_present'))),
    h('ul', { class: 'roster', 'aria-label': t('attendance.roster') }, rows),
    h('p', { class: 'muted' }, `${presentCount}/${roster.length}`),
  ];
}
