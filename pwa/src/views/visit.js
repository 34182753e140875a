// The visit: the step bar, one module per step (views/steps/), saving the draft on every change.
// The draft and what it becomes when sealed live in ../draft.js.
import { getFix } from '../capture/gps.js';
import { discardDraft, getDraft, saveDraft, setMeta } from '../db.js';
import { computeChecks, prefillFindings, STEPS, stepState } from '../draft.js';
import { t } from '../i18n.js';
import { h, mount } from '../ui.js';
import { reportWriteFailure, writeSucceeded } from './storage_errors.js';
import { renderAttendance } from './steps/attendance.js';
import { renderChecks } from './steps/checks.js';
import { sessionLine } from './steps/common.js';
import { renderFindings } from './steps/findings.js';
import { renderPhotos } from './steps/photos.js';
import { renderSignatures } from './steps/signatures.js';
import { renderSummary } from './steps/summary.js';
import { renderTeacher } from './steps/teacher.js';

// Written out in the order of STEPS: each step's module renders its body from the context.
const STEP_BODIES = {
  checks: renderChecks,
  teacher: renderTeacher,
  attendance: renderAttendance,
  photos: renderPhotos,
  findings: renderFindings,
  signatures: renderSignatures,
  summary: renderSummary,
};

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
  // A failed write undoes what the screen showed: the draft goes back to what is on disk.
  const save = () => {
    const mine = ++latestSave;
    document.documentElement.dataset.draftSaved = 'false';
    saving = saving.then(() => saveDraft(draft))
      .then(() => {
        if (mine === latestSave) document.documentElement.dataset.draftSaved = 'true';
        writeSucceeded('draft');
      })
      .catch(async (error) => {
        const stored = await getDraft(draft.id);
        if (stored) {
          for (const key of Object.keys(draft)) delete draft[key];
          Object.assign(draft, stored);
        }
        reportWriteFailure(error, t('what.draft'), 'draft');
        rerender();
      });
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
      // The reason's catalogue key, so the words follow the language switch.
      draft.gps_error = error.code || 'gps.unavailable';
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

  const ctx = { draft, save, rerender, navigate, locate, thumbs,
    addCleanup: (fn) => cleanups.push(fn) };

  function rerender() {
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
    const key = STEPS[draft.step];
    // Mismatches found so far become findings the inspector can edit (once each).
    if (key === 'findings' || key === 'summary') {
      if (prefillFindings(draft)) save();
    }
    const checks = computeChecks(draft);
    const nav = h('nav', { class: 'stepnav' },
      draft.step > 0 ? h('button', { type: 'button', 'data-testid': 'visit-prev', onclick: () => go(draft.step - 1) },
        `‹ ${t('visit.prev')}`) : h('button', { type: 'button', onclick: () => navigate('#/') }, `‹ ${t('visit.back')}`),
      draft.step < STEPS.length - 1 ? h('button', { type: 'button', class: 'primary', 'data-testid': 'visit-next',
        onclick: () => go(draft.step + 1) }, `${t('visit.next')} ›`) : null);
    mount(root,
      h('div', { class: 'visit', 'data-visit-id': draft.id, 'data-step': key },
        h('p', { class: 'muted small-print' }, `${draft.filed.class_name} · ${sessionLine(draft.filed.session)}`),
        h('ol', { class: 'progress', 'aria-label': t('visit.step', { n: draft.step + 1, total: STEPS.length }) },
          STEPS.map((s, i) => {
            const state = stepState(draft, s, checks);
            return h('li', { class: `${i === draft.step ? 'on ' : ''}state-${state}`,
              'aria-current': i === draft.step ? 'step' : null }, h('button', { type: 'button',
              'data-testid': 'step-tab', 'data-step': s, 'data-state': state,
              'aria-label': `${t(`step.${s}`)}：${t(`stepstate.${state}`)}`, onclick: () => go(i) },
            state === 'mismatch' ? '!' : state === 'done' ? '✓' : String(i + 1)));
          })),
        h('h2', {}, `${t('visit.step', { n: draft.step + 1, total: STEPS.length })} · ${t(`step.${key}`)}`),
        h('div', { class: 'step-body' }, STEP_BODIES[key](ctx)),
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
