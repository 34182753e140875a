// Pieces several visit steps show: the session line, place and time texts, a check card, 是/否.
import { maxAccuracyM, shanghaiParts } from '../../checks.js';
import { t } from '../../i18n.js';
import { h, statusPill } from '../../ui.js';

/** One line for a filed session: date, time, category, topic. */
export function sessionLine(session) {
  return `${session.date} ${session.start.slice(0, 5)}–${session.end.slice(0, 5)} · `
    + `${t(`category.${session.category}`)} · ${session.topic}`;
}

/** The place check in words: distance and allowance, or why it cannot be judged. */
export function placeText(draft, place) {
  if (!draft.gps) return t('place.no_fix');
  if (place.reason === 'accuracy') {
    return t('place.poor_accuracy', { acc: Math.round(draft.gps.accuracy), max: Math.round(maxAccuracyM()) });
  }
  if (place.reason === 'mocked') return t('place.mocked');
  if (place.reason === 'stale') return t('place.stale');
  return t('place.distance', { d: Math.round(place.distance_m), r: draft.filed.site?.radius_m ?? '—',
    acc: Math.round(draft.gps.accuracy) });
}

/** The time check in words: the filed window beside the arrival. */
export function timeText(draft, time) {
  const s = draft.filed.session;
  const local = shanghaiParts(new Date(draft.started_at));
  if (time.reason === 'other_day') return t('time.other_day', { at: local.date, date: s.date });
  return t('time.window', { date: s.date, start: s.start.slice(0, 5), end: s.end.slice(0, 5),
    at: local.time.slice(0, 5) });
}

/** A card for one check with its status pill. */
export function checkCard(testid, label, check, text) {
  return h('div', { class: `check check-${check.status}`, 'data-testid': testid,
    'data-status': check.status, role: 'group', 'aria-label': label },
  h('div', { class: 'row-between' }, h('strong', {}, label), statusPill(check.status)),
  h('p', {}, text));
}

/** Two buttons 是 / 否 with data-testid prefix-yes / prefix-no. */
export function yesNo(prefix, value, onPick) {
  return h('div', { class: 'yesno', role: 'group' },
    h('button', { type: 'button', class: value === true ? 'choice on' : 'choice',
      'aria-pressed': String(value === true), 'data-testid': `${prefix}-yes`, onclick: () => onPick(true) },
    t('yes')),
    h('button', { type: 'button', class: value === false ? 'choice on bad' : 'choice',
      'aria-pressed': String(value === false), 'data-testid': `${prefix}-no`, onclick: () => onPick(false) },
    t('no')));
}
