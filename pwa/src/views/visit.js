// The visit: start screen, then the steps in the order the notice asks (R10), then the seal.
import { sealOf } from '../canonical.js';
import { getFix } from '../capture/gps.js';
import { processPhoto } from '../capture/photo.js';
import { attachSignature } from '../capture/signature.js';
import {
  checkAttendance, checkObserved, checkPlace, checkTime, POOR_ACCURACY_WARN_M, shanghaiParts,
} from '../checks.js';
import {
  addDraftPhoto, discardDraft, getDraft, getMedia, getMeta, removeDraftPhoto, saveDraft,
  setMeta, submitVisit,
} from '../db.js';
import { t } from '../i18n.js';
import { qualification } from '../scope.js';
import { syncNow } from '../sync.js';
import { h, hideToast, mount, statusPill, toast } from '../ui.js';
import { renderAttendance } from './attendance.js';

export const STEPS = ['checks', 'teacher', 'attendance', 'photos', 'findings', 'signatures', 'summary'];
export const FINDING_CODES = ['R7.teacher', 'R7.content', 'R7.hours', 'R4', 'R8', 'R9',
  'R10.place', 'R10.attendance', 'R3'];

function sessionLine(session) {
  return `${session.date} ${session.start.slice(0, 5)}–${session.end.slice(0, 5)} · `
    + `${t(`category.${session.category}`)} · ${session.topic}`;
}

function infoList(info) {
  return h('dl', { class: 'info' },
    h('dt', {}, t('visit.class')), h('dd', {}, `${info.class_name}${info.base_name ? ` · ${info.base_name}` : ''}`),
    h('dt', {}, t('visit.session')), h('dd', {}, sessionLine(info.session)),
    h('dt', {}, t('visit.site')), h('dd', {}, info.site ? info.site.name : '—'),
    h('dt', {}, t('visit.filed_teacher')),
    h('dd', {}, info.teacher ? `${info.teacher.name}（${qualification(info.teacher) || '—'}）` : '—'));
}

/** The screen before a visit: what was filed, and the start button. */
export function renderStart(root, { info, assignmentId, user, navigate }) {
  const start = async () => {
    const auth = await getMeta('auth');
    const me = auth?.user || user;
    const ids = info.inspector_ids?.length ? [...info.inspector_ids] : [me.id];
    if (!ids.includes(me.id)) ids.unshift(me.id);
    const draft = {
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
    await saveDraft(draft);
    navigate(`#/visit/${draft.id}`);
  };
  mount(root,
    h('button', { type: 'button', class: 'link', onclick: () => navigate('#/') }, `‹ ${t('visit.back')}`),
    h('h2', {}, assignmentId ? t('visit.start') : `${t('visit.covert')} · ${t('visit.start')}`),
    infoList(info),
    h('p', { class: 'muted' }, t('visit.start_hint')),
    h('button', { type: 'button', class: 'primary big', 'data-testid': 'visit-start', onclick: start },
      t('visit.start')));
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

function placeText(draft, place) {
  if (!draft.gps) return t('place.no_fix');
  if (place.reason === 'accuracy') return t('place.poor_accuracy', { acc: Math.round(draft.gps.accuracy), max: 200 });
  return t('place.distance', { d: Math.round(place.distance_m), r: draft.filed.site?.radius_m ?? '—',
    acc: Math.round(draft.gps.accuracy) });
}

function timeText(draft, time) {
  const s = draft.filed.session;
  const local = shanghaiParts(new Date(draft.started_at));
  if (time.reason === 'other_day') return t('time.other_day', { at: local.date, date: s.date });
  return t('time.window', { date: s.date, start: s.start.slice(0, 5), end: s.end.slice(0, 5),
    at: local.time.slice(0, 5) });
}

function checkCard(testid, label, check, text) {
  return h('div', { class: `check check-${check.status}`, 'data-testid': testid,
    'data-status': check.status, role: 'group', 'aria-label': label },
  h('div', { class: 'row-between' }, h('strong', {}, label), statusPill(check.status)),
  h('p', {}, text));
}

function yesNo(prefix, value, onPick) {
  return h('div', { class: 'yesno', role: 'group' },
    h('button', { type: 'button', class: value === true ? 'choice on' : 'choice',
      'aria-pressed': String(value === true), 'data-testid': `${prefix}-yes`, onclick: () => onPick(true) },
    t('yes')),
    h('button', { type: 'button', class: value === false ? 'choice on bad' : 'choice',
      'aria-pressed': String(value === false), 'data-testid': `${prefix}-no`, onclick: () => onPick(false) },
    t('no')));
}

function missingItems(draft) {
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

/** Seal the draft and move it, its outbox entry and its media into the store at once. */
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

async function submit(draft) {
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

/** Open a draft visit at its saved step. */
export async function renderVisit(root, { id, navigate }) {
  const draft = await getDraft(id);
  if (!draft) {
    navigate('#/');
    return;
  }
  let saving = Promise.resolve();
  let latestSave = 0;
  // Saves are chained so a slow write can never overwrite a newer one. The page says when the
  // newest one is on disk (data-draft-saved), for people and tests who reload right after typing.
  const save = () => {
    const mine = ++latestSave;
    document.documentElement.dataset.draftSaved = 'false';
    saving = saving.then(() => saveDraft(draft))
      .then(() => { if (mine === latestSave) document.documentElement.dataset.draftSaved = 'true'; })
      .catch((error) => toast(error.message));
    return saving;
  };
  let cleanups = [];
  const thumbs = new Map();

  const locate = async () => {
    draft.gps_error = null;
    rerender();
    try {
      draft.gps = await getFix();
      await setMeta('last_fix', draft.gps);
    } catch (error) {
      draft.gps_error = error.message;
    }
    await save();
    if (STEPS[draft.step] === 'checks') rerender();
  };

  const go = async (step) => {
    draft.step = Math.max(0, Math.min(STEPS.length - 1, step));
    await save();
    rerender();
    root.focus();
    window.scrollTo(0, 0);
  };

  const stepBody = {
    checks() {
      const checks = computeChecks(draft);
      const gps = draft.gps;
      return [
        gps ? h('p', { class: 'gps' }, t('gps.fix', { lat: gps.lat.toFixed(5), lon: gps.lon.toFixed(5),
          acc: Math.round(gps.accuracy) }))
          : h('p', { class: 'gps' }, draft.gps_error ? t('gps.error', { message: draft.gps_error }) : t('gps.locating')),
        gps && gps.accuracy > POOR_ACCURACY_WARN_M
          ? h('p', { class: 'warn', role: 'alert' }, t('gps.poor', { acc: Math.round(gps.accuracy) })) : null,
        h('button', { type: 'button', class: 'small', onclick: locate }, t('gps.retry')),
        checkCard('check-place', t('check.place'), checks.place, placeText(draft, checks.place)),
        checkCard('check-time', t('check.time'), checks.time, timeText(draft, checks.time)),
      ];
    },
    teacher() {
      const teacher = draft.filed.teacher;
      return [
        h('p', { class: 'filed' }, t('teacher.filed', { name: teacher?.name || '—', qual: teacher?.qualification || '—' })),
        h('p', {}, t('teacher.question')),
        yesNo('teacher', draft.teacher.matches, (v) => { draft.teacher.matches = v; save(); rerender(); }),
        h('label', { for: 'teacher-name' }, t('teacher.observed')),
        h('input', { id: 'teacher-name', type: 'text', autocomplete: 'off', 'data-testid': 'teacher-name',
          value: draft.teacher.name, oninput: (e) => { draft.teacher.name = e.target.value; save(); } }),
        h('p', { class: 'filed' }, t('content.filed', { topic: draft.filed.session.topic })),
        h('p', {}, t('content.question')),
        yesNo('content', draft.content.matches, (v) => { draft.content.matches = v; save(); rerender(); }),
        h('label', { for: 'content-topic' }, t('content.observed')),
        h('input', { id: 'content-topic', type: 'text', autocomplete: 'off', 'data-testid': 'content-topic',
          value: draft.content.topic, oninput: (e) => { draft.content.topic = e.target.value; save(); } }),
      ];
    },
    attendance() {
      return renderAttendance({ draft, save, rerender });
    },
    photos() {
      const input = h('input', { id: 'photo-input', type: 'file', accept: 'image/*', capture: 'environment',
        multiple: true, class: 'file', 'data-testid': 'photo-input',
        onchange: async (event) => {
          const files = [...event.target.files];
          event.target.value = '';
          for (const file of files) {
            toast(t('photos.processing'));
            try {
              const photo = await processPhoto(file);
              if (!draft.photos.some((p) => p.sha256 === photo.sha256)) await addDraftPhoto(draft, photo);
              hideToast();
            } catch (error) {
              toast(t('photos.failed', { message: error.message }));
            }
          }
          rerender();
        } });
      const grid = h('ul', { class: 'thumbs' });
      for (const photo of draft.photos) {
        const img = h('img', { alt: photo.sha256.slice(0, 8), width: '96', height: '96' });
        const url = thumbs.get(photo.sha256);
        if (url) img.src = url;
        else {
          getMedia(photo.sha256).then((m) => {
            if (!m?.bytes) return;
            const made = URL.createObjectURL(new Blob([m.bytes], { type: m.mime }));
            thumbs.set(photo.sha256, made);
            img.src = made;
          });
        }
        grid.append(h('li', {}, img, h('button', { type: 'button', class: 'small',
          'aria-label': `${t('photos.remove')} ${photo.sha256.slice(0, 8)}`,
          onclick: async () => { await removeDraftPhoto(draft, photo.sha256); rerender(); } }, t('photos.remove'))));
      }
      return [
        h('label', { for: 'photo-input', class: 'button primary big' }, t('photos.take')),
        input,
        h('p', { class: 'muted', 'data-testid': 'photo-count' }, t('photos.count', { n: draft.photos.length })),
        grid,
      ];
    },
    findings() {
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
    },
    signatures() {
      const pads = [];
      const block = (sig, testid, label, nameLabel, nameTestid, index) => {
        const canvas = h('canvas', { class: 'sig', 'data-testid': testid, role: 'img',
          'aria-label': label, 'data-signed': String(!!sig.sha256) });
        const state = h('span', { class: 'muted' }, sig.sha256 ? t('sign.signed') : t('sign.empty'));
        pads.push({ canvas, sig, state });
        const inputId = `sig-name-${index}`;
        return h('section', { class: 'sign' },
          h('label', { for: inputId }, nameLabel),
          h('input', { id: inputId, type: 'text', autocomplete: 'off', value: sig.name,
            'data-testid': nameTestid, oninput: (e) => { sig.name = e.target.value; save(); } }),
          h('div', { class: 'row-between' }, h('span', {}, label), state),
          canvas,
          h('button', { type: 'button', class: 'small', onclick: () => pads.find((p) => p.canvas === canvas).pad.clear() },
            t('sign.clear')));
      };
      const nodes = [
        ...draft.signatures.inspectors.map((sig, i) => block(sig, 'signature-inspector', t('sign.inspector'),
          t('sign.inspector_name'), 'inspector-name', i)),
        block(draft.signatures.base, 'signature-base', t('sign.base'), t('sign.base_name'), 'base-rep-name', 'base'),
      ];
      // The canvases need their layout size before the pads attach.
      requestAnimationFrame(() => {
        for (const entry of pads) {
          entry.pad = attachSignature(entry.canvas, entry.sig, (result) => {
            entry.sig.points = result?.points || null;
            entry.sig.png = result?.png || null;
            entry.sig.sha256 = result?.sha256 || null;
            entry.canvas.dataset.signed = String(!!result);
            entry.state.textContent = result ? t('sign.signed') : t('sign.empty');
            save();
          });
          cleanups.push(() => entry.pad.destroy());
        }
      });
      return nodes;
    },
    summary() {
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
              const seal = await submit(draft);
              toast(`${t('summary.saved')} · ${t('summary.seal', { seal: seal.slice(0, 12) })}`);
              navigate('#/');
              syncNow('save');
            } catch (error) {
              event.target.disabled = false;
              toast(error.message);
            }
          } }, t('summary.submit')),
      ];
    },
  };

  function rerender() {
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
    const key = STEPS[draft.step];
    const nav = h('nav', { class: 'stepnav' },
      draft.step > 0 ? h('button', { type: 'button', 'data-testid': 'visit-prev', onclick: () => go(draft.step - 1) },
        `‹ ${t('visit.prev')}`) : h('button', { type: 'button', onclick: () => navigate('#/') }, `‹ ${t('visit.back')}`),
      draft.step < STEPS.length - 1 ? h('button', { type: 'button', class: 'primary', 'data-testid': 'visit-next',
        onclick: () => go(draft.step + 1) }, `${t('visit.next')} ›`) : null);
    mount(root,
      h('div', { class: 'visit', 'data-visit-id': draft.id, 'data-step': key },
        h('p', { class: 'muted small-print' }, `${draft.filed.class_name} · ${sessionLine(draft.filed.session)}`),
        h('ol', { class: 'progress', 'aria-label': t('visit.step', { n: draft.step + 1, total: STEPS.length }) },
          STEPS.map((s, i) => h('li', { class: i === draft.step ? 'on' : i < draft.step ? 'done' : '',
            'aria-current': i === draft.step ? 'step' : null }, h('button', { type: 'button',
            'aria-label': t(`step.${s}`), onclick: () => go(i) }, String(i + 1))))),
        h('h2', {}, `${t('visit.step', { n: draft.step + 1, total: STEPS.length })} · ${t(`step.${key}`)}`),
        h('div', { class: 'step-body' }, stepBody[key]()),
        nav,
        key === 'summary' ? h('button', { type: 'button', class: 'link danger', onclick: async () => {
          if (window.confirm(t('visit.discard_confirm'))) {
            await discardDraft(draft.id);
            navigate('#/');
          }
        } }, t('visit.discard')) : null));
  }

  rerender();
  if (!draft.gps && !draft.gps_error) locate();
}
