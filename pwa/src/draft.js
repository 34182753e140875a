// A visit draft and what it becomes: the new draft, the checks the phone can judge, the sign-ins,
// the sealed visit.submit payload and the mutations stored with it. No DOM here.
import { sealOf } from './canonical.js';
import { checkAttendance, checkObserved, checkPlace, checkTime } from './checks.js';
import { submitVisit } from './db.js';
import { t } from './i18n.js';
import { qualification } from './scope.js';

export const STEPS = ['checks', 'teacher', 'attendance', 'photos', 'findings', 'signatures', 'summary'];
export const FINDING_CODES = ['R7.teacher', 'R7.content', 'R7.hours', 'R4', 'R8', 'R9',
  'R10.place', 'R10.attendance', 'R3'];

/** A fresh draft for one filed session; `me` is the logged-in user (its author). */
export function newDraft(info, assignmentId, me) {
  const ids = info.inspector_ids?.length ? [...info.inspector_ids] : [me.id];
  if (!ids.includes(me.id)) ids.unshift(me.id);
  return {
    id: crypto.randomUUID(),
    assignment_id: assignmentId || null,
    covert: !assignmentId,
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
    photos: [],
    findings: { codes: [], text: '' },
    verdict: null,
    signatures: {
      inspectors: ids.map((id) => ({ user_id: id, name: id === me.id ? (me.display_name || me.username) : '',
        sha256: null, png: null, points: null })),
      base: { name: '', sha256: null, png: null, points: null },
    },
  };
}

/** Every check the phone can judge now, from the draft. */
export function computeChecks(draft) {
  const roster = draft.filed.roster;
  const present = roster.filter((r) => draft.present[r.trainee_id]).length;
  return {
    place: checkPlace(draft.gps, draft.filed.site),
    time: checkTime(draft.started_at, draft.filed.session, draft.ended_at || new Date().toISOString()),
    teacher: checkObserved(draft.teacher.matches),
    content: checkObserved(draft.content.matches),
    attendance: checkAttendance(roster.length, present, draft.headcount),
  };
}

/** What is still needed before the draft can be sealed (messages for people). */
export function missingItems(draft) {
  const missing = [];
  if (draft.teacher.matches === null) missing.push(t('summary.need_teacher'));
  if (draft.content.matches === null) missing.push(t('summary.need_content'));
  if (draft.headcount === '') missing.push(t('summary.need_headcount'));
  if (!draft.verdict) missing.push(t('summary.need_verdict'));
  const sigs = [...draft.signatures.inspectors, draft.signatures.base];
  if (sigs.some((s) => !s.sha256 || !s.name.trim())) missing.push(t('summary.need_signatures'));
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
    signins: signins.map((s) => s.id),
    findings,
    verdict: draft.verdict,
    signatures: [
      ...draft.signatures.inspectors.map((s) => ({ role: 'inspector', name: s.name.trim(), sha256: s.sha256 })),
      { role: 'base_representative', name: draft.signatures.base.name.trim(),
        sha256: draft.signatures.base.sha256 },
    ],
    photos: draft.photos.map((p) => ({ sha256: p.sha256 })),
  };
  if (draft.assignment_id) payload.assignment_id = draft.assignment_id;
  return payload;
}

/**
 * The visit's sign-ins: those captured during the visit (QR scans) plus a manual sign-in
 * (签到, method manual) for every trainee the inspector marked present without one.
 */
export function collectSignins(draft, endedAt) {
  const signins = [...draft.signins];
  const signed = new Set(signins.map((s) => s.trainee_id));
  for (const trainee of draft.filed.roster) {
    if (draft.present[trainee.trainee_id] && !signed.has(trainee.trainee_id)) {
      signins.push({ id: crypto.randomUUID(), trainee_id: trainee.trainee_id, method: 'manual', at: endedAt });
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
  return { mutation_id: crypto.randomUUID(), type: 'signin.create', entity_id: signin.id,
    client_time: clientTime, base: { plan_version_id: draft.plan_version_id }, payload };
}

/** Seal the draft and move it, its outbox entries and its media into the store at once. */
export async function sealDraft(draft) {
  const ended = new Date().toISOString();
  draft.ended_at = ended;
  const signins = collectSignins(draft, ended);
  const payload = buildPayload(draft, ended, signins);
  payload.seal = await sealOf(payload);
  const signatures = [...draft.signatures.inspectors, draft.signatures.base];
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
      verdict: draft.verdict, seal: payload.seal, media, started_at: draft.started_at,
    },
    mutations: [
      ...signins.map((signin) => signinMutation(draft, signin, ended)),
      { mutation_id: crypto.randomUUID(), type: 'visit.submit', entity_id: draft.id, client_time: ended,
        base: { plan_version_id: draft.plan_version_id }, payload },
    ],
    signatureMedia,
  });
  return payload.seal;
}
