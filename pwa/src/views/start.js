// The screen before a visit: what was filed, and the start button.
import { getMeta, saveDraft } from '../db.js';
import { newDraft } from '../draft.js';
import { t } from '../i18n.js';
import { qualification } from '../scope.js';
import { h, mount } from '../ui.js';
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
  const start = async () => {
    const auth = await getMeta('auth');
    const draft = newDraft(info, assignmentId, auth?.user || user);
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
