// Step 1: the GPS fix and the place and time checks against the filed session.
import { POOR_ACCURACY_WARN_M } from '../../checks.js';
import { computeChecks } from '../../draft.js';
import { t } from '../../i18n.js';
import { h } from '../../ui.js';
import { checkCard, placeText, timeText } from './common.js';

// Drafts from before the reason was a key hold the browser's own text: never shown to people.
function gpsReason(reason) {
  return /^gps\.\w+$/.test(reason) ? t(reason) : t('gps.unavailable');
}

/** Render the checks step. */
export function renderChecks({ draft, locate }) {
  const checks = computeChecks(draft);
  const gps = draft.gps;
  return [
    gps ? h('p', { class: 'gps' }, t('gps.fix', { lat: gps.lat.toFixed(5), lon: gps.lon.toFixed(5),
      acc: Math.round(gps.accuracy) }))
      : h('p', { class: 'gps' }, draft.gps_error ? t('gps.error', { message: gpsReason(draft.gps_error) }) : t('gps.locating')),
    gps && gps.accuracy > POOR_ACCURACY_WARN_M
      ? h('p', { class: 'warn', role: 'alert' }, t('gps.poor', { acc: Math.round(gps.accuracy) })) : null,
    h('button', { type: 'button', class: 'small', onclick: locate }, t('gps.retry')),
    checkCard('check-place', t('check.place'), checks.place, placeText(draft, checks.place)),
    checkCard('check-time', t('check.time'), checks.time, timeText(draft, checks.time)),
  ];
}
