// Step 2: is the teacher the filed one, is the content the filed topic.
import { t } from '../../i18n.js';
import { h } from '../../ui.js';
import { yesNo } from './common.js';

/** Render the teacher and content step. */
export function renderTeacher({ draft, save, rerender }) {
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
}
