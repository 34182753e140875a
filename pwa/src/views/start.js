// The screen before a visit: what was filed, and the start button.
import { getMeta, saveDraft } from '../db.js';
import { newDraft, sessionPhase, startsIn } from '../draft.js';
import { t } from '../i18n.js';
import { qualification } from '../scope.js';
import { h, mount } from '../ui.js';
import { reportWriteFailure } from './storage_errors.js';
import { sessionLine } from './steps/common.js';

function infoList(info) {
  return h('dl', { class: 'info' },
    h('dt', {}, t('visit.class')), h('dd', {}, `${info.class_name}${info.base_name ? ` · ${info.base_name}` : ''}`),
    h('dt', {}, t('visit.session')), h('dd', {}, sessionLine(info.session)),
    h('dt', {}, t('visit.site')), h('dd', {}, info.site ? info.site.name : '—'),
    h('dt', {}, t('visit.filed_teacher')),
    h('dd', {}, info.teacher ? `${info.teacher.name}（${qualification(info.teacher) || '—'}）` : '—'));
}

/** Render the start screen for an assignment (assignmentId) or a covert check (null). */
export function renderStart(root, { info, assignmentId, user, navigate }) {
  const begin = async () => {
    const auth = await getMeta('auth');
    const draft = newDraft(info, assignmentId, auth?.user || user);
    try {
      await saveDraft(draft);
    } catch (error) {
      reportWriteFailure(error, t('what.draft'), 'draft');
      return;
    }
    navigate(`#/visit/${draft.id}`);
  };
  // Outside the session's window the check proves little: say so and ask before starting.
  const start = () => {
    const { phase, minutes } = sessionPhase(info.session);
    if (phase === 'on') {
      begin();
      return;
    }
    const close = () => dialog.remove();
    const dialog = h('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true', 'data-testid': 'start-confirm',
      'aria-labelledby': 'start-title' },
    h('div', { class: 'modal-box' },
      h('h2', { id: 'start-title' }, t('start.outside_title')),
      h('p', {}, phase === 'before' ? t('start.before', { in: startsIn(minutes), window: sessionLine(info.session) })
        : t('start.after', { window: sessionLine(info.session) })),
      h('div', { class: 'row' },
        h('button', { type: 'button', 'data-testid': 'start-cancel', onclick: close }, t('start.cancel')),
        h('button', { type: 'button', class: 'primary', 'data-testid': 'start-proceed',
          onclick: () => { close(); begin(); } }, t('start.proceed')))));
    document.body.append(dialog);
  };
  mount(root,
    h('button', { type: 'button', class: 'link', onclick: () => navigate('#/') }, `‹ ${t('visit.back')}`),
    h('h2', {}, assignmentId ? t('visit.start') : `${t('visit.covert')} · ${t('visit.start')}`),
    infoList(info),
    h('p', { class: 'muted' }, t('visit.start_hint')),
    h('button', { type: 'button', class: 'primary big', 'data-testid': 'visit-start', onclick: start },
      t('visit.start')));
}
