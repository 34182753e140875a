// A visit draft and what it becomes: the new draft, the checks the phone can judge, the sign-ins,
// the sealed visit.submit payload and the mutations stored with it. No DOM here.
import { sealOf } from './canonical.js';
import {
  checkAttendance, checkObserved, checkPlace, checkTime, evidenceStale, sessionWindow, shownRate,
  timeToleranceMs,
} from './checks.js';
import { submitVisit } from './db.js';
import { t } from './i18n.js';
import { recordId } from './ids.js';
import { qualification } from './scope.js';

export const STEPS = ['checks', 'teacher', 'attendance', 'photos', 'findings', 'signatures', 'summary'];
export const FINDING_CODES = ['R7.teacher', 'R7.content', 'R7.hours', 'R4', 'R8', 'R9',
  'R10.place', 'R10.time', 'R10.attendance', 'R3'];

/** A visit is covert (暗访) when its inspector is the city's, with or without an assignment: the
 * server's rule (services/scope.py is_covert), which decides what the base may see. */
export function isCovertInspector(user) {
  return user?.role === 'inspector' && !user.county_id;
}

/** A fresh draft for one filed session; `me` is the logged-in user (its author). */
export function newDraft(info, assignmentId, me) {
  const ids = (info.inspector_ids || []).filter((id) => id !== me.id);
  ids.unshift(me.id);
  const names = new Map((info.inspectors || []).map((i) => [i.id, i.name]));
  return {
    id: recordId(),
    user_id: me.id,
    assignment_id: assignmentId || null,
    covert: isCovertInspector(me),
    class_id: info.class_id,
    session_id: info.session.id,
    plan_version_id: info.plan_version_id,
    filed: {
      class_name: info.class_name, base_name: info.base_name, session: info.session,
      site: info.site, teacher: info.teacher ? { name: info.teacher.name,
        qualification: qualification(info.teacher) } : null,
      roster: info.roster,
    },
    started_at: new Date().toISOString(),
    step: 0,
    gps: null,
    gps_error: null,
    teacher: { matches: null, name: '' },
    content: { matches: null, topic: '' },
    headcount: '',
    present: {},
    signins: [],
    // Self sign-ins trainees made on their own phones, as the server listed them
    // (selfSignins): already on the server, so never pushed, but counted and named by the visit.
    self_signins: [],
    photos: [],
    findings: { codes: [], text: '' },
    verdict: null,
    signatures: {
      // One slot per member of the team, named from the assignment; the logged-in one first.
      inspectors: ids.map((id) => ({ user_id: id,
        name: id === me.id ? (me.display_name || me.username) : (names.get(id) || ''),
        sha256: null, png: null, points: null })),
      base: { name: '', sha256: null, png: null, points: null, refused: false, refused_reason: '' },
    },
  };
}

/**
 * Attendance as the server will count it from the sign-ins this draft pushes (collectSignins,
 * sync/judge.py count_attendance) and the self sign-ins the server already has: roster size,
 * distinct roster trainees signed in (a capture or the inspector's tick), and sign-ins of
 * someone not on the roster; with the ids signed in and those a captured sign-in (a scan, their
 * own phone) names, which stay in the record whatever the toggles say. One count for the
 * attendance step, its check, the mismatch lines and the summary.
 */
export function attendanceFigures(draft) {
  const roster = draft.filed.roster;
  const onRoster = new Set(roster.map((r) => r.trainee_id));
  const all = [...draft.signins, ...selfSignins(draft)];
  const captured = new Set(all.map((s) => s.trainee_id).filter(Boolean));
  const signed = new Set(captured);
  for (const r of roster) if (draft.present[r.trainee_id]) signed.add(r.trainee_id);
  const present = [...signed].filter((id) => onRoster.has(id)).length;
  const unknown = all.filter((s) => !onRoster.has(s.trainee_id)).length;
  return { roster: roster.length, present, unknown, signed, captured };
}

/** The visit's self sign-ins made on trainees' own phones, as the server last listed them (a
 * draft made before they were kept has none). */
export function selfSignins(draft) {
  return draft.self_signins || [];
}

/** Keep the server's list of the visit's self sign-ins (GET /visits/<id>/self-signins: id,
 * trainee_id, at, flags); true when it changed the draft. */
export function setSelfSignins(draft, signins) {
  const kept = signins.map(({ id, trainee_id, at, flags }) => ({ id, trainee_id, method: 'self', at, flags }));
  if (JSON.stringify(kept) === JSON.stringify(selfSignins(draft))) return false;
  draft.self_signins = kept;
  return true;
}

/** The capture times of the draft's evidence the server checks for staleness: the GPS fix,
 * photos' EXIF times, sign-ins (and their fixes). */
function captureTimes(draft) {
  return [draft.gps?.captured_at, ...draft.photos.map((p) => p.taken_at),
    ...draft.signins.flatMap((s) => [s.at, s.gps?.captured_at]),
    ...selfSignins(draft).map((s) => s.at)];
}

/** Every check the phone can judge now, from the draft. */
export function computeChecks(draft) {
  const figures = attendanceFigures(draft);
  const ended = draft.ended_at || new Date().toISOString();
  return {
    place: checkPlace(draft.gps, draft.filed.site,
      evidenceStale(captureTimes(draft), draft.started_at, ended)),
    time: checkTime(draft.started_at, draft.filed.session, ended),
    teacher: checkObserved(draft.teacher.matches),
    content: checkObserved(draft.content.matches),
    attendance: checkAttendance(figures.roster, figures.present, draft.headcount, figures.unknown),
  };
}

/** What is still needed before the draft can be sealed (messages for people). */
export function missingItems(draft) {
  const missing = [];
  if (draft.teacher.matches === null) missing.push(t('summary.need_teacher'));
  if (draft.content.matches === null) missing.push(t('summary.need_content'));
  if (draft.headcount === '') missing.push(t('summary.need_headcount'));
  if (!draft.photos.length) missing.push(t('summary.need_photo'));
  if (!draft.verdict) missing.push(t('summary.need_verdict'));
  if (!signaturesDone(draft)) missing.push(t('summary.need_signatures'));
  return missing;
}

/** The sealed payload of visit.submit (server contract), without the seal. */
export function buildPayload(draft, endedAt, signins) {
  const present = draft.filed.roster.filter((r) => draft.present[r.trainee_id]).map((r) => r.trainee_id);
  const teacherName = draft.teacher.name.trim()
    || (draft.teacher.matches && draft.filed.teacher ? draft.filed.teacher.name : '');
  const topic = draft.content.topic.trim()
    || (draft.content.matches ? draft.filed.session.topic : '');
  const findings = draft.findings.codes.map((code) => ({ code, text: t(`code.${code}`) }));
  if (draft.findings.text.trim()) findings.push({ code: 'note', text: draft.findings.text.trim() });
  const payload = {
    class_id: draft.class_id,
    session_id: draft.session_id,
    plan_version_id: draft.plan_version_id,
    started_at: draft.started_at,
    ended_at: endedAt,
    gps: draft.gps ? { lat: draft.gps.lat, lon: draft.gps.lon, accuracy: draft.gps.accuracy,
      captured_at: draft.gps.captured_at, mocked: !!draft.gps.mocked } : null,
    observed: {
      teacher_matches: draft.teacher.matches,
      teacher_name: teacherName,
      content_matches: draft.content.matches,
      topic,
      headcount: Number(draft.headcount),
    },
    present,
    // The self sign-ins too: the record names every sign-in it counted.
    signins: [...new Set([...signins, ...selfSignins(draft)].map((s) => s.id))],
    findings,
    verdict: draft.verdict,
    signatures: [
      ...draft.signatures.inspectors.map((s) => ({ role: 'inspector', name: s.name.trim(), sha256: s.sha256 })),
      ...(baseRefused(draft) ? [] : [{ role: 'base_representative', name: draft.signatures.base.name.trim(),
        sha256: draft.signatures.base.sha256 }]),
    ],
    // taken_at: the photo's own EXIF capture time, sealed with the record when the file had one.
    photos: draft.photos.map((p) => (p.taken_at ? { sha256: p.sha256, taken_at: p.taken_at } : { sha256: p.sha256 })),
  };
  if (baseRefused(draft)) {
    // 拒签: who refused (when the name is known) and why, sealed with the record.
    payload.base_refused = { reason: draft.signatures.base.refused_reason.trim() };
    if (draft.signatures.base.name.trim()) payload.base_refused.name = draft.signatures.base.name.trim();
  }
  if (draft.assignment_id) payload.assignment_id = draft.assignment_id;
  return payload;
}

/**
 * The visit's sign-ins: those captured during the visit (QR scans) plus a manual sign-in
 * (签到, method manual) for every trainee the inspector marked present without one.
 */
export function collectSignins(draft, endedAt) {
  const signins = [...draft.signins];
  // A trainee who signed in on their own phone needs no manual sign-in besides.
  const signed = new Set([...signins, ...selfSignins(draft)].map((s) => s.trainee_id));
  for (const trainee of draft.filed.roster) {
    if (draft.present[trainee.trainee_id] && !signed.has(trainee.trainee_id)) {
      signins.push({ id: recordId(), trainee_id: trainee.trainee_id, method: 'manual', at: endedAt });
    }
  }
  // A trainee toggled absent after a scan keeps the scan: the evidence stays.
  return signins;
}

function signinMutation(draft, signin, clientTime) {
  const payload = { visit_id: draft.id, class_id: draft.class_id, trainee_id: signin.trainee_id,
    method: signin.method, at: signin.at };
  if (signin.gps) payload.gps = signin.gps;
  if (signin.badge_token) payload.badge_token = signin.badge_token;
  if (signin.signature_sha256) payload.signature_sha256 = signin.signature_sha256;
  return { mutation_id: recordId(), type: 'signin.create', entity_id: signin.id,
    client_time: clientTime, base: { plan_version_id: draft.plan_version_id }, payload };
}

/** Seal the draft and move it, its outbox entries and its media into the store at once. */
export async function sealDraft(draft) {
  const ended = new Date().toISOString();
  draft.ended_at = ended;
  const signins = collectSignins(draft, ended);
  const payload = buildPayload(draft, ended, signins);
  payload.seal = await sealOf(payload);
  const signatures = [...draft.signatures.inspectors, ...(baseRefused(draft) ? [] : [draft.signatures.base])];
  const signatureMedia = [];
  for (const s of signatures) {
    if (!signatureMedia.some((m) => m.sha256 === s.sha256)) {
      signatureMedia.push({ sha256: s.sha256, mime: 'image/png', bytes: s.png, size: s.png.byteLength });
    }
  }
  const media = [...new Set([...draft.photos.map((p) => p.sha256), ...signatureMedia.map((m) => m.sha256),
    ...signins.filter((s) => s.signature_sha256).map((s) => s.signature_sha256)])];
  const checks = computeChecks(draft);
  await submitVisit({
    visit: {
      id: draft.id, class_id: draft.class_id, session_id: draft.session_id,
      assignment_id: draft.assignment_id, covert: draft.covert, class_name: draft.filed.class_name,
      session: draft.filed.session, site_name: draft.filed.site?.name || '', checks,
      // The trainees counted present as the attendance step and check counted them (self
      // sign-ins included: the payload's own `present` lists only those ticked on this phone).
      present: attendanceFigures(draft).present,
      verdict: draft.verdict, seal: payload.seal, media, started_at: draft.started_at,
      // What was sealed, for the read-only view (no media bytes: those stay in `media`).
      payload, filed: draft.filed, signins,
    },
    mutations: [
      ...signins.map((signin) => signinMutation(draft, signin, ended)),
      { mutation_id: recordId(), type: 'visit.submit', entity_id: draft.id, client_time: ended,
        base: { plan_version_id: draft.plan_version_id }, payload },
    ],
    signatureMedia,
  });
  return payload.seal;
}

/**
 * Where now stands against a session's window (widened by the server's tolerance):
 * {phase: 'before'|'on'|'after', minutes} with minutes until the start when before.
 */
export function sessionPhase(session, now = new Date()) {
  const [start, end] = sessionWindow(session);
  const at = now.getTime();
  if (at < start.getTime() - timeToleranceMs()) {
    return { phase: 'before', minutes: Math.ceil((start.getTime() - at) / 60000) };
  }
  if (at > end.getTime() + timeToleranceMs()) return { phase: 'after', minutes: 0 };
  return { phase: 'on', minutes: 0 };
}

/** "3 小时 20 分钟" / "2 天": how long until a session starts, for people. */
export function startsIn(minutes) {
  if (minutes >= 48 * 60) return t('time.in_days', { n: Math.floor(minutes / 1440) });
  if (minutes >= 60) return t('time.in_hours', { h: Math.floor(minutes / 60), m: minutes % 60 });
  return t('time.in_minutes', { n: minutes });
}

/** The base representative refused to sign, with a reason: the refusal is sealed instead. */
export function baseRefused(draft) {
  return !!draft.signatures.base.refused && !!(draft.signatures.base.refused_reason || '').trim();
}

/** Whether every signature slot is done: signed with a name, or the base's refusal recorded. */
export function signaturesDone(draft) {
  const inspectorsDone = draft.signatures.inspectors.every((s) => s.sha256 && s.name.trim());
  const base = draft.signatures.base;
  return inspectorsDone && (baseRefused(draft) || (!!base.sha256 && !!base.name.trim()));
}

/**
 * What the step bar shows for each step: done | incomplete | mismatch. Passing a step is not
 * doing it: a step is done only when what it asks for is there and nothing in it disagrees.
 */
export function stepState(draft, key, checks = computeChecks(draft)) {
  switch (key) {
    case 'checks':
      if (checks.place.status === 'mismatch' || checks.time.status === 'mismatch') return 'mismatch';
      return checks.place.status === 'match' && checks.time.status === 'match' ? 'done' : 'incomplete';
    case 'teacher':
      if (draft.teacher.matches === false || draft.content.matches === false) return 'mismatch';
      return draft.teacher.matches && draft.content.matches ? 'done' : 'incomplete';
    case 'attendance':
      if (checks.attendance.status === 'mismatch') return 'mismatch';
      return checks.attendance.status === 'match' ? 'done' : 'incomplete';
    case 'photos':
      return draft.photos.length ? 'done' : 'incomplete';
    case 'findings':
      return draft.verdict ? 'done' : 'incomplete';
    case 'signatures':
      return signaturesDone(draft) ? 'done' : 'incomplete';
    default:
      return missingItems(draft).length ? 'incomplete' : 'done';
  }
}

// The finding each detected mismatch suggests (the inspector may uncheck or reword it).
const MISMATCH_FINDINGS = {
  place: 'R10.place', time: 'R10.time', teacher: 'R7.teacher', content: 'R7.content', attendance: 'R10.attendance',
};

/** Planned beside observed for each mismatch: {key, text} ("教师：李志强 → 王秀英"). */
export function mismatchLines(draft, checks = computeChecks(draft)) {
  const lines = [];
  const filed = draft.filed;
  if (checks.place.status === 'mismatch') {
    lines.push({ key: 'place', text: t('mismatch.place', { d: Math.round(checks.place.distance_m),
      r: filed.site?.radius_m ?? '—', site: filed.site?.name || '—' }) });
  }
  if (checks.time.status === 'mismatch') {
    const local = checks.time.local;
    lines.push({ key: 'time', text: t('mismatch.time', { date: filed.session.date,
      start: filed.session.start.slice(0, 5), end: filed.session.end.slice(0, 5),
      at: `${local.date === filed.session.date ? '' : `${local.date} `}${local.time.slice(0, 5)}` }) });
  }
  if (checks.teacher.status === 'mismatch') {
    lines.push({ key: 'teacher', text: t('mismatch.teacher', { planned: filed.teacher?.name || '—',
      observed: draft.teacher.name.trim() || t('mismatch.unknown') }) });
  }
  if (checks.content.status === 'mismatch') {
    lines.push({ key: 'content', text: t('mismatch.content', { planned: filed.session.topic,
      observed: draft.content.topic.trim() || t('mismatch.unknown') }) });
  }
  const { roster, present } = attendanceFigures(draft);
  if (checks.attendance.status === 'mismatch') {
    lines.push({ key: 'attendance', text: t('mismatch.attendance', { p: present, n: roster,
      rate: shownRate(present, roster), h: draft.headcount }) });
  }
  return lines;
}

/**
 * Carry each newly detected mismatch into the findings once: its rule checked and a line of
 * planned beside observed added to the text. What the inspector changed afterwards stays.
 */
export function prefillFindings(draft) {
  const checks = computeChecks(draft);
  draft.findings.auto = draft.findings.auto || {};
  let changed = false;
  for (const line of mismatchLines(draft, checks)) {
    if (draft.findings.auto[line.key]) continue;
    draft.findings.auto[line.key] = true;
    const code = MISMATCH_FINDINGS[line.key];
    if (!draft.findings.codes.includes(code)) {
      const set = new Set([...draft.findings.codes, code]);
      draft.findings.codes = FINDING_CODES.filter((c) => set.has(c));
    }
    draft.findings.text = draft.findings.text.trim() ? `${draft.findings.text.trim()}\n${line.text}` : line.text;
    changed = true;
  }
  return changed;
}
