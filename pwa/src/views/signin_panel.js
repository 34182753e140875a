// QR sign-in on the attendance step: scan trainees' badges (verified offline) and show the
// rotating self sign-in code. Plugs in through registerAttendanceExtension.
import { api } from '../api.js';
import { verifyBadge } from '../capture/badge.js';
import { startScanner } from '../capture/qr.js';
import { makeSelfCode, selfSigninUrl, WINDOW_SECONDS, windowOf } from '../capture/selfcode.js';
import { attachSignature } from '../capture/signature.js';
import { addSigninSignature, deviceId, getMeta } from '../db.js';
import { selfSignins, setSelfSignins } from '../draft.js';
import { h } from '../ui.js';
import { recordId } from '../ids.js';
import { registerAttendanceExtension } from './steps/attendance.js';
import { t as tq } from '../i18n.js';

const RAPID_COUNT = 10;
const RAPID_MS = 1000;
// How often the attendance step asks the server for self sign-ins while it is shown.
const SELF_REFRESH_MS = 15_000;
const selfAsked = new Map(); // draft id -> when the server was last asked (this session)

let overlay = null; // lives on <body>: the attendance step re-renders under it on each scan
let scanner = null;
let selfTimer = null;
let current = null; // {ctx} of the attendance step last rendered
let signPad = null; // the trainee signature pad open over the scanner, if any
const log = new Map(); // draft id -> [{kind, text}] newest first (this session only)

function ensureStyles() {
  if (document.getElementById('signin-css')) return;
  document.head.append(h('link', { id: 'signin-css', rel: 'stylesheet', href: 'signin.css' }));
}

function note(draftId, kind, text) {
  const list = log.get(draftId) || [];
  list.unshift({ kind, text });
  log.set(draftId, list.slice(0, 30));
  const box = overlay?.querySelector('[data-testid=scan-message]');
  if (box) {
    box.textContent = text;
    box.className = `scan-message ${kind}`;
  }
}

/** An anomaly: shown in the log and counted on the draft, so the count survives a reload. */
function noteBad(draft, text) {
  note(draft.id, 'bad', text);
  draft.scan_anomalies = (draft.scan_anomalies || 0) + 1;
  current?.save();
}

function closeOverlay() {
  const showedCode = selfTimer !== null;
  closeSignPad();
  scanner?.stop();
  scanner = null;
  clearInterval(selfTimer);
  selfTimer = null;
  overlay?.remove();
  overlay = null;
  current?.rerender();
  if (showedCode && current) refreshSelfSignins(current, true); // trainees just signed in
}

/**
 * Self sign-ins reach the server from trainees' own phones, never this phone; the server counts
 * them in the visit's attendance, so the step asks for them (when online, at most every
 * SELF_REFRESH_MS unless `now`) and keeps them on the draft (draft.js setSelfSignins).
 * Offline or refused, the draft keeps what it had.
 */
async function refreshSelfSignins(ctx, now = false) {
  const { draft } = ctx;
  if (!navigator.onLine || (!now && Date.now() - (selfAsked.get(draft.id) || 0) < SELF_REFRESH_MS)) return;
  selfAsked.set(draft.id, Date.now());
  let answer;
  try {
    answer = await api(`/visits/${draft.id}/self-signins?class_id=${encodeURIComponent(draft.class_id)}`);
  } catch (error) {
    return; // no network or not allowed: nothing to add now
  }
  // Only while this draft's attendance step is on screen: a sealed draft is not written again.
  const shown = document.querySelector(`.visit[data-step="attendance"][data-visit-id="${draft.id}"]`);
  if (shown && setSelfSignins(draft, answer.signins)) {
    ctx.save();
    ctx.rerender();
  }
}

function rapidRun(signins) {
  const badge = signins.filter((s) => s.method === 'badge').map((s) => Date.parse(s.at)).sort((a, b) => a - b);
  let run = 1;
  for (let i = 1; i < badge.length; i += 1) {
    run = badge[i] - badge[i - 1] < RAPID_MS ? run + 1 : 1;
  }
  return run;
}

async function onBadge(text) {
  if (!current) return;
  const { draft, roster, markPresent, save, rerender } = current;
  if (/\/s\/[\w-]+$/.test(text)) return; // the self sign-in code, seen over a shoulder
  const result = await verifyBadge(text, draft.class_id);
  if (result.reason === 'garbled') {
    noteBad(draft, tq('qr.garbled'));
    return;
  }
  const signin = {
    id: recordId(), method: 'badge', badge_token: text, at: new Date().toISOString(),
    trainee_id: result.trainee_id || null,
  };
  if (draft.gps) signin.gps = draft.gps;
  const trainee = roster.find((r) => r.trainee_id === result.trainee_id);
  if (result.ok || result.reason === 'no_key') {
    const again = draft.signins.some((s) => s.method === 'badge' && s.trainee_id === result.trainee_id);
    if (!trainee) noteBad(draft, tq('qr.not_on_roster'));
    else if (again) noteBad(draft, tq('qr.duplicate', { name: trainee.name }));
    else note(draft.id, result.ok ? 'ok' : 'warn', result.ok ? tq('qr.ok', { name: trainee.name }) : tq('qr.no_key'));
  } else {
    noteBad(draft, tq(`qr.${result.reason}`));
  }
  // Every scan is kept, the doubtful ones too: the server checks the badge again and flags or
  // rejects it, so the record shows the anomaly rather than hiding it.
  if (trainee && (result.ok || result.reason === 'no_key')) {
    const first = !draft.signins.some((s) => s.method === 'badge' && s.trainee_id === trainee.trainee_id);
    markPresent(trainee.trainee_id, signin);
    if (first) openSignPad(draft, signin, trainee);
  } else {
    draft.signins.push(signin);
    save();
    rerender();
  }
  const run = rapidRun(draft.signins);
  if (run >= RAPID_COUNT) noteBad(draft, tq('qr.rapid', { n: run }));
}

function closeSignPad() {
  if (!signPad) return;
  signPad.pad?.destroy();
  signPad.node.remove();
  overlay?.classList.remove('signing');
  signPad = null;
  scanner?.resume();
}

/**
 * Offer the trainee just scanned a pad to sign (本人签名) on this phone. The scanner pauses
 * while it is open and resumes on 确认 or 跳过; skipping keeps the sign-in without a signature.
 */
function openSignPad(draft, signin, trainee) {
  if (!overlay || signPad) return;
  scanner?.pause();
  let result = null;
  const canvas = h('canvas', { class: 'sig', 'data-testid': 'signin-signature', role: 'img',
    'aria-label': tq('qr.sign_prompt'), 'data-signed': 'false' });
  const confirm = h('button', { type: 'button', class: 'primary', disabled: true,
    'data-testid': 'signin-signature-confirm',
    onclick: async () => {
      if (!result) return;
      confirm.disabled = true;
      const png = result.png;
      await addSigninSignature(draft, signin.id,
        { sha256: result.sha256, mime: 'image/png', bytes: png, size: png.byteLength });
      closeSignPad();
      note(draft.id, 'ok', tq('qr.sign_saved', { name: trainee.name }));
    } }, tq('qr.sign_confirm'));
  const node = h('section', { class: 'signin-pad', 'aria-label': tq('qr.sign_prompt') },
    h('p', { class: 'self-hint' }, tq('qr.sign_prompt'), ' · ', h('strong', {}, trainee.name)),
    canvas,
    h('div', { class: 'row-between' },
      h('button', { type: 'button', 'data-testid': 'signin-signature-skip', onclick: closeSignPad },
        tq('qr.sign_skip')),
      h('button', { type: 'button', class: 'small', onclick: () => signPad?.pad?.clear() }, tq('qr.sign_clear')),
      confirm));
  overlay.classList.add('signing');
  overlay.querySelector('.scan-frame')?.after(node);
  signPad = { node, pad: null };
  const pad = signPad;
  // The canvas needs its layout size before the pad attaches.
  requestAnimationFrame(() => {
    if (signPad !== pad) return;
    pad.pad = attachSignature(canvas, null, (value) => {
      result = value;
      canvas.dataset.signed = String(!!value);
      confirm.disabled = !value;
    });
  });
}

async function openScanner() {
  ensureStyles();
  const video = h('video', { class: 'scan-video', 'data-testid': 'scan-video', muted: true, playsinline: true });
  const message = h('p', { class: 'scan-message', 'data-testid': 'scan-message', 'aria-live': 'assertive' },
    tq('qr.scanning'));
  const engine = h('p', { class: 'muted small-print', 'data-testid': 'scan-engine' });
  overlay = h('div', { class: 'qr-overlay', role: 'dialog', 'aria-label': tq('qr.scan') },
    h('div', { class: 'scan-frame' }, video),
    message, engine,
    h('button', { type: 'button', class: 'primary big', 'data-testid': 'scan-close', onclick: closeOverlay },
      tq('qr.close')));
  document.body.append(overlay);
  try {
    scanner = await startScanner(video, (text) => { onBadge(text); });
    // Which decoder reads the codes is for tests and support, not for the person scanning.
    engine.dataset.engine = scanner.engine;
    engine.textContent = tq('qr.ready');
  } catch (error) {
    message.textContent = tq('qr.no_camera');
    message.className = 'scan-message bad';
  }
}

async function openSelfCode(draft) {
  ensureStyles();
  const auth = await getMeta('auth');
  const image = h('img', { class: 'self-qr', 'data-testid': 'self-qr', alt: tq('qr.self') });
  const countdown = h('p', { class: 'muted', 'data-testid': 'self-countdown' });
  overlay = h('div', { class: 'qr-overlay', role: 'dialog', 'aria-label': tq('qr.self') },
    h('p', { class: 'self-hint' }, tq('qr.self_code')), image, countdown,
    h('button', { type: 'button', class: 'primary big', 'data-testid': 'self-close', onclick: closeOverlay },
      tq('qr.close')));
  document.body.append(overlay);
  if (!auth?.device_key) {
    countdown.textContent = tq('qr.self_no_key');
    countdown.className = 'warn';
    return;
  }
  const { default: qrcode } = await import('qrcode-generator');
  const device = await deviceId();
  let shown = null;
  const refresh = async () => {
    const now = Date.now();
    const window = windowOf(now);
    if (window !== shown) {
      shown = window;
      const code = await makeSelfCode({ deviceKey: auth.device_key, deviceId: device,
        classId: draft.class_id, visitId: draft.id, ms: now });
      const qr = qrcode(0, 'M');
      qr.addData(selfSigninUrl(code));
      qr.make();
      image.src = qr.createDataURL(6, 24); // margin in pixels: the 4-module quiet zone
      image.dataset.code = code;
      image.dataset.window = String(window);
    }
    const left = WINDOW_SECONDS - Math.floor(now / 1000) % WINDOW_SECONDS;
    countdown.textContent = tq('qr.self_refresh', { s: left });
  };
  await refresh();
  selfTimer = setInterval(refresh, 1000);
}

registerAttendanceExtension((ctx) => {
  current = ctx;
  const entries = log.get(ctx.draft.id) || [];
  const bad = ctx.draft.scan_anomalies || 0;
  const scans = ctx.draft.signins.filter((s) => s.method === 'badge').length;
  const own = selfSignins(ctx.draft).length;
  queueMicrotask(() => refreshSelfSignins(ctx));
  const list = h('ul', { class: 'scan-log', 'data-testid': 'scan-log' },
    entries.slice(0, 5).map((e) => h('li', { class: e.kind }, e.text)));
  const block = h('section', { class: 'qr-signin', 'data-testid': 'qr-signin' },
    h('h3', {}, tq('qr.title')),
    h('div', { class: 'row-between' },
      h('button', { type: 'button', class: 'primary', 'data-testid': 'scan-badges', onclick: openScanner },
        tq('qr.scan')),
      h('button', { type: 'button', 'data-testid': 'self-code', onclick: () => openSelfCode(ctx.draft) },
        tq('qr.self'))),
    h('p', { class: 'muted', 'data-testid': 'scan-count', 'data-scans': String(scans) },
      tq('qr.count', { n: scans, bad })),
    h('p', { class: 'muted', 'data-testid': 'self-signin-count', 'data-count': String(own) },
      tq('qr.self_count', { n: own })),
    list);
  return block;
});

/** Close any scanner or code overlay (leaving the step). */
export function closeSigninOverlays() {
  if (overlay) closeOverlay();
}

