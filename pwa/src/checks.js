// What the phone can judge by itself, by the same rules and settings as the server.
export const POOR_ACCURACY_WARN_M = 100;
// The server's judging settings (services/visits.py judging_settings), as the last pull page sent
// them (each page carries them; a plan version carries those of when it was pulled); until then
// the server's defaults.
const judging = {
  gps_max_accuracy_m: 200, // a worse fix cannot verify the place
  attendance_min_rate: 0.9,
  time_tolerance_minutes: 15, // a visit this close to its session still counts
  evidence_tolerance_minutes: 15, // a fix, photo or sign-in further outside the visit is stale
};
// The zone of the plans (the server's TIMEZONE), as the last pull said; until then the default.
let planZone = 'Asia/Shanghai';

/** Remember the zone the pulled plans' wall times are in. */
export function setPlanZone(zone) {
  if (zone) planZone = zone;
}

/** Remember the server's judging settings a pull page (or a pulled plan version) carries. */
export function setJudging(settings) {
  if (!settings) return;
  for (const key of Object.keys(judging)) {
    if (typeof settings[key] === 'number') judging[key] = settings[key];
  }
}

/** The worst GPS accuracy that can still verify the place, in metres (GPS_MAX_ACCURACY_M). */
export function maxAccuracyM() {
  return judging.gps_max_accuracy_m;
}

/** The time tolerance around a session, in milliseconds (the server's TIME_TOLERANCE). */
export function timeToleranceMs() {
  return judging.time_tolerance_minutes * 60_000;
}

/** Stale evidence, as the server judges it (sync/judge.py outside_visit): any capture time (the
 * GPS fix, a photo's EXIF time, a sign-in) further than the tolerance outside the visit. */
export function evidenceStale(captureTimes, startedAt, endedAt) {
  const tolerance = judging.evidence_tolerance_minutes * 60_000;
  const start = new Date(startedAt).getTime();
  const ended = endedAt ? new Date(endedAt).getTime() : start;
  const end = ended > start ? ended : start;
  return captureTimes.filter(Boolean).some((at) => {
    const time = new Date(at).getTime();
    return time < start - tolerance || time > end + tolerance;
  });
}

/** Geodesic distance in metres on the WGS-84 ellipsoid (Vincenty's inverse formula). */
export function geodesicDistance(lat1, lon1, lat2, lon2) {
  const a = 6378137.0;
  const f = 1 / 298.257223563;
  const b = a * (1 - f);
  const rad = Math.PI / 180;
  const L = (lon2 - lon1) * rad;
  const U1 = Math.atan((1 - f) * Math.tan(lat1 * rad));
  const U2 = Math.atan((1 - f) * Math.tan(lat2 * rad));
  const sinU1 = Math.sin(U1), cosU1 = Math.cos(U1), sinU2 = Math.sin(U2), cosU2 = Math.cos(U2);
  let lambda = L;
  for (let i = 0; i < 200; i++) {
    const sinL = Math.sin(lambda), cosL = Math.cos(lambda);
    const sinSigma = Math.hypot(cosU2 * sinL, cosU1 * sinU2 - sinU1 * cosU2 * cosL);
    if (sinSigma === 0) return 0;
    const cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
    const sigma = Math.atan2(sinSigma, cosSigma);
    const sinAlpha = (cosU1 * cosU2 * sinL) / sinSigma;
    const cos2Alpha = 1 - sinAlpha * sinAlpha;
    const cos2SigmaM = cos2Alpha === 0 ? 0 : cosSigma - (2 * sinU1 * sinU2) / cos2Alpha;
    const C = (f / 16) * cos2Alpha * (4 + f * (4 - 3 * cos2Alpha));
    const prev = lambda;
    lambda = L + (1 - C) * f * sinAlpha
      * (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM ** 2)));
    if (Math.abs(lambda - prev) < 1e-12) {
      const u2 = (cos2Alpha * (a * a - b * b)) / (b * b);
      const A = 1 + (u2 / 16384) * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
      const B = (u2 / 1024) * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
      const dSigma = B * sinSigma * (cos2SigmaM + (B / 4) * (cosSigma * (-1 + 2 * cos2SigmaM ** 2)
        - (B / 6) * cos2SigmaM * (-3 + 4 * sinSigma ** 2) * (-3 + 4 * cos2SigmaM ** 2)));
      return b * A * (sigma - dSigma);
    }
  }
  // Nearly antipodal points do not converge; a sphere is plenty for "not at the site".
  const dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

/** Place check, as the server judges it (sync/judge.py judge_place): match when within radius +
 * accuracy; unverifiable without a good, real, fresh fix (stale: evidenceStale of the visit). */
export function checkPlace(fix, site, stale = false) {
  if (!fix) return { status: 'unverifiable', reason: 'no_fix' };
  if (!site) return { status: 'unverifiable', reason: 'no_site' };
  const distance = geodesicDistance(fix.lat, fix.lon, site.lat, site.lon);
  // Whole metres, as the server stores and every reader shows them (sync/judge.py shown_metres).
  const distance_m = Math.round(distance);
  if (fix.mocked) return { status: 'unverifiable', reason: 'mocked', distance_m };
  if (stale) return { status: 'unverifiable', reason: 'stale', distance_m };
  if (fix.accuracy > judging.gps_max_accuracy_m) {
    return { status: 'unverifiable', reason: 'accuracy', distance_m };
  }
  const status = distance <= site.radius_m + fix.accuracy ? 'match' : 'mismatch';
  return { status, reason: status === 'match' ? 'within' : 'outside', distance_m };
}

/** Local wall time in the plans' zone: {date: 'YYYY-MM-DD', time: 'HH:MM:SS'}. */
export function shanghaiParts(instant) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: planZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit',
    minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(instant).map((p) => [p.type, p.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}:${parts.second}` };
}

function hms(value) {
  return value.length === 5 ? `${value}:00` : value.slice(0, 8);
}

/** A session's window as instants, as the server resolved them (start_at/end_at); a plan
 * pulled before the server sent them falls back to UTC+8 (Asia/Shanghai has no DST). */
export function sessionWindow(session) {
  if (session.start_at && session.end_at) return [new Date(session.start_at), new Date(session.end_at)];
  return [new Date(`${session.date}T${hms(session.start)}+08:00`),
    new Date(`${session.date}T${hms(session.end)}+08:00`)];
}

/** Time check, as the server judges it: the visit overlaps the window widened by 15 minutes. */
export function checkTime(startedAt, session, endedAt = null) {
  if (!session) return { status: 'unverifiable', reason: 'no_session' };
  const [start, end] = sessionWindow(session);
  const began = new Date(startedAt);
  const ended = endedAt && new Date(endedAt) > began ? new Date(endedAt) : began;
  const local = shanghaiParts(began);
  const inside = began.getTime() <= end.getTime() + timeToleranceMs()
    && ended.getTime() >= start.getTime() - timeToleranceMs();
  if (inside) return { status: 'match', reason: 'within', local };
  return { status: 'mismatch', reason: local.date === session.date ? 'outside' : 'other_day', local };
}

/** Attendance, as the server judges it (sync/judge.py judge_attendance): headcount within the
 * roster and equal to the roster trainees signed in, nobody signed in who is not on the roster,
 * and at least attendance_min_rate of the roster signed in. */
export function checkAttendance(rosterSize, presentCount, headcount, unknownCount = 0) {
  if (!rosterSize || headcount === null || headcount === undefined || headcount === '') {
    return { status: 'unverifiable', reason: 'incomplete' };
  }
  const rate = presentCount / rosterSize;
  if (Number(headcount) > rosterSize) return { status: 'mismatch', reason: 'over_roster', rate };
  if (unknownCount > 0) return { status: 'mismatch', reason: 'not_on_roster', rate };
  if (rateIsLow(presentCount, rosterSize)) return { status: 'mismatch', reason: 'low', rate };
  if (Number(headcount) !== presentCount) return { status: 'mismatch', reason: 'count_differs', rate };
  return { status: 'match', reason: 'ok', rate };
}

/** Whether present / roster falls below the server's minimum, on the exact fraction (sync/judge.py
 * rate_is_low). */
export function rateIsLow(present, roster) {
  return roster > 0 && present / roster < judging.attendance_min_rate;
}

/** An attendance rate as people read it: whole percent, rounded down (sync/judge.py shown_rate):
 * 43 of 48 reads 89 %, never "90 %" beside a minimum of 90 %. */
export function shownRate(present, roster) {
  return roster > 0 ? Math.floor((present * 100) / roster) : 0;
}

/** An observation answered 是/否 as a check status. */
export function checkObserved(matches) {
  if (matches === true) return { status: 'match' };
  if (matches === false) return { status: 'mismatch' };
  return { status: 'unverifiable' };
}
