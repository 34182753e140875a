// The home screen: my records (drafts, sealed, refused), assignments by date with whether their
// session is on, covert checks.
import { geodesicDistance, shanghaiParts } from '../checks.js';
import { getFix } from '../capture/gps.js';
import { allMedia, getMeta, listDrafts, listRejected, listVisits, requeueRejected, setMeta } from '../db.js';
import { isCovertInspector, sessionPhase, startsIn } from '../draft.js';
import { t } from '../i18n.js';
import { syncNow } from '../sync.js';
import { currentVersion, describe } from '../scope.js';
import { formatDistance, h, mount, toast } from '../ui.js';
import { exportUnsynced } from './status.js';

function distanceText(fix, site) {
  if (!fix || !site) return t('list.distance_unknown');
  return t('list.distance', { d: formatDistance(geodesicDistance(fix.lat, fix.lon, site.lat, site.lon)) });
}

/** A visit's sync state: 仅在本机 / 上传中 x/y / 已同步 / 已标记 / 已拒绝. */
export function visitState(visit, mediaBySha) {
  const total = visit.media.length;
  const done = visit.media.filter((sha) => mediaBySha.get(sha)?.confirmed).length;
  if (visit.state === 'rejected') return { key: 'rejected', text: t('state.rejected') };
  if (visit.state === 'local' && done === 0) return { key: 'local', text: t('state.local') };
  if (visit.state === 'local' || done < total) {
    return { key: 'uploading', text: t('state.uploading', { x: done, y: total }) };
  }
  if (visit.state === 'flagged') return { key: 'flagged', text: t('state.flagged') };
  return { key: 'synced', text: t('state.synced') };
}

/** A record's state for people and tests: draft | sealed | synced | rejected. */
export function recordState(visit, mediaBySha) {
  const key = visitState(visit, mediaBySha).key;
  if (key === 'rejected') return 'rejected';
  return key === 'synced' || key === 'flagged' ? 'synced' : 'sealed';
}

/** Why the server refused a record, in the active language (never its internal code). */
export function rejectionText(entry) {
  const key = `error.${entry.code}`;
  const text = t(key);
  return text === key ? t('reject.other') : text;
}

function phaseLabel(session) {
  const { phase, minutes } = sessionPhase(session);
  if (phase === 'on') return h('span', { class: 'pill pill-on', 'data-testid': 'session-phase', 'data-phase': 'on' },
    t('phase.on'));
  if (phase === 'before') return h('span', { class: 'pill pill-before', 'data-testid': 'session-phase',
    'data-phase': 'before' }, t('phase.before', { in: startsIn(minutes) }));
  return h('span', { class: 'pill pill-after', 'data-testid': 'session-phase', 'data-phase': 'after' },
    t('phase.after'));
}

/** One card per class session: the same session assigned twice shows once. */
function mergeAssignments(items) {
  const bySession = new Map();
  for (const item of items) {
    const key = `${item.class_id}:${item.session.id}`;
    const seen = bySession.get(key);
    if (!seen) bySession.set(key, { ...item, ids: [item.id] });
    else seen.ids.push(item.id);
  }
  return [...bySession.values()];
}

function reviewText(review) {
  const key = `review.${review.decision}`;
  const text = t(key, { decision: review.decision });
  return text === key ? t('review.other', { decision: review.decision }) : text;
}

/** Render the home screen from the scope and the local store. */
export async function renderList(root, { scope, auth, navigate }) {
  const [drafts, visits, media, fix, rejected] = await Promise.all([listDrafts(), listVisits(), allMedia(),
    getMeta('last_fix'), listRejected()]);
  const today = shanghaiParts(new Date()).date;
  const draftByAssignment = new Map(drafts.filter((d) => d.assignment_id).map((d) => [d.assignment_id, d]));
  const visitByAssignment = new Map(visits.filter((v) => v.assignment_id).map((v) => [v.assignment_id, v]));
  const mediaBySha = new Map(media.map((m) => [m.sha256, m]));

  const groups = new Map();
  for (const item of mergeAssignments(scope.assignments)) {
    const date = item.session.date;
    if (!groups.has(date)) groups.set(date, []);
    groups.get(date).push(item);
  }
  // Today and the days ahead first (soonest on top); past days after, latest first.
  const ordered = [...groups.entries()].sort(([a], [b]) => {
    const past = (d) => (d < today ? 1 : 0);
    return past(a) - past(b) || (past(a) ? b.localeCompare(a) : a.localeCompare(b));
  });
  const assignmentNodes = ordered.map(([date, items]) => h('section', { class: date < today ? 'day past' : 'day' },
    h('h3', {}, date === today ? `${t('list.today')} · ${date}` : date),
    h('ul', { class: 'cards' }, items.map((item) => {
      const draft = item.ids.map((id) => draftByAssignment.get(id)).find(Boolean);
      const visit = item.ids.map((id) => visitByAssignment.get(id)).find(Boolean);
      // Done by this phone's visit, or by the server (a teammate's visit): 已完成 opens the record.
      const done = !!visit || item.assignment?.status === 'done';
      const open = visit ? `#/record/${visit.id}` : draft ? `#/visit/${draft.id}` : done ? null : `#/start/a/${item.id}`;
      return h('li', {}, h('button', {
        type: 'button', class: `card${done ? ' done' : ''}`, 'data-testid': 'assignment',
        'data-assignment-id': item.id, 'data-done': String(done), disabled: open ? null : true,
        onclick: () => open && navigate(open),
      },
      h('span', { class: 'card-title' }, item.class_name || item.class_id.slice(0, 8)),
      h('span', {}, `${item.session.start.slice(0, 5)}–${item.session.end.slice(0, 5)} · `
        + `${t(`category.${item.session.category}`)} · ${item.session.topic}`),
      h('span', { class: 'muted' }, `${item.site?.name || '—'} · ${distanceText(fix, item.site)}`),
      done ? h('span', { class: 'pill pill-match', 'data-testid': 'assignment-done' }, t('list.done'))
        : phaseLabel(item.session),
      draft && !done ? h('span', { class: 'pill pill-draft' }, t('list.continue')) : null));
    }))));

  const isCity = isCovertInspector(auth.user);
  const covertNodes = isCity ? h('section', {},
    h('h3', {}, t('list.covert')),
    h('p', { class: 'muted' }, t('list.covert_hint')),
    h('ul', { class: 'cards' }, [...scope.classes.values()].map((klass) => h('li', {}, h('button', {
      type: 'button', class: 'card', 'data-testid': 'covert-class', onclick: () => navigate(`#/covert/${klass.id}`) },
    h('span', { class: 'card-title' }, klass.name), h('span', { class: 'muted' },
      scope.bases.get(klass.base_id)?.name || '')))))) : null;

  const reviewsByVisit = new Map();
  for (const review of scope.reviews) {
    // A team's check: the decision is on every member's record (visit_ids), not only the first.
    for (const visitId of review.visit_ids || [review.visit_id]) {
      const list = reviewsByVisit.get(visitId) || [];
      list.push(review);
      reviewsByVisit.set(visitId, list);
    }
  }
  const records = renderRecords({ drafts, visits, rejected, mediaBySha, reviewsByVisit, navigate,
    redraw: () => renderList(root, { scope, auth, navigate }) });
  const unsent = drafts.length || rejected.length
    || visits.some((v) => recordState(v, mediaBySha) !== 'synced');

  const stale = !fix || Date.now() - new Date(fix.captured_at).getTime() > 10 * 60_000;
  if (stale && scope.assignments.length && !renderList.locating
      && Date.now() - (renderList.lastTry || 0) > 2 * 60_000) {
    renderList.lastTry = Date.now();
    // Distances need a fresh position; the list is usable at once and redrawn when it comes.
    renderList.locating = true;
    getFix({ timeout: 15000 }).then((newFix) => setMeta('last_fix', newFix))
      .then(() => { if ((location.hash || '#/') === '#/') renderList(root, { scope, auth, navigate }); })
      .catch(() => {})
      .finally(() => { renderList.locating = false; });
  }
  // Work not yet on the server comes first: that is what a person must not forget.
  mount(root,
    unsent ? records : null,
    h('h2', {}, t('list.assignments')),
    assignmentNodes.length ? assignmentNodes : h('p', { class: 'muted' }, t('list.none')),
    covertNodes, unsent ? null : records);
}

/** My records: drafts (continue), sealed visits (read-only view), and what the server refused. */
function renderRecords({ drafts, visits, rejected, mediaBySha, reviewsByVisit, navigate, redraw }) {
  if (!drafts.length && !visits.length && !rejected.length) return null;
  const draftNodes = [...drafts].sort((a, b) => (b.updated_at || '').localeCompare(a.updated_at || ''))
    .map((d) => h('li', {}, h('button', { type: 'button', class: 'card', 'data-testid': 'record',
      'data-state': 'draft', 'data-record-id': d.id, onclick: () => navigate(`#/visit/${d.id}`) },
    h('span', { class: 'card-title' }, `${d.covert ? `${t('visit.covert')} · ` : ''}${d.filed.class_name}`),
    h('span', {}, `${d.filed.session.date} · ${d.filed.session.topic}`),
    h('span', { class: 'pill pill-draft' }, t('record.draft')))));
  const sorted = [...visits].sort((a, b) => b.created_at.localeCompare(a.created_at));
  const visitNodes = sorted.map((visit) => {
    const state = visitState(visit, mediaBySha);
    const record = recordState(visit, mediaBySha);
    return h('li', { 'data-testid': 'visit-row', 'data-visit-id': visit.id, 'data-state': state.key },
      h('button', { type: 'button', class: 'card', 'data-testid': 'record', 'data-state': record,
        'data-record-id': visit.id, onclick: () => navigate(`#/record/${visit.id}`) },
      h('span', { class: 'card-title' }, `${visit.covert ? `${t('visit.covert')} · ` : ''}${visit.class_name || ''}`),
      visit.session ? h('span', {}, `${visit.session.date} · ${visit.session.topic}`) : null,
      h('span', { class: `pill pill-state-${state.key}` }, state.text),
      (reviewsByVisit.get(visit.id) || []).map((review) => h('span', { class: 'review',
        'data-testid': 'visit-review' }, reviewText(review), review.comment ? `：${review.comment}` : ''))));
  });
  const refused = rejected.length ? h('section', { class: 'refused', 'data-testid': 'rejected-list' },
    h('h3', {}, t('rejected.heading')),
    h('p', { class: 'muted' }, t('rejected.hint')),
    h('ul', { class: 'plain' }, rejected.map((entry) => h('li', { 'data-testid': 'rejected-entry',
      'data-code': entry.code || '' },
    h('strong', {}, t(`rejected.type.${entry.type}`) === `rejected.type.${entry.type}` ? t('rejected.type.other')
      : t(`rejected.type.${entry.type}`)),
    `：${rejectionText(entry)}`))),
    h('div', { class: 'row' },
      h('button', { type: 'button', 'data-testid': 'rejected-retry', onclick: async () => {
        const n = await requeueRejected();
        toast(t('rejected.retrying', { n }));
        syncNow('retry');
        redraw();
      } }, t('rejected.retry')),
      h('button', { type: 'button', 'data-testid': 'rejected-export', onclick: exportUnsynced },
        t('sync.export')))) : null;
  return h('section', { class: 'records' },
    h('h2', {}, t('list.records')),
    refused,
    h('ul', { class: 'cards' }, draftNodes, visitNodes));
}

/** Covert check: pick a session of the class's current plan (today's first). */
export function renderCovertSessions(root, { scope, classId, navigate }) {
  const version = currentVersion(scope, classId);
  const klass = scope.classes.get(classId);
  const today = shanghaiParts(new Date()).date;
  const sessions = [...(version?.sessions || [])].sort((a, b) => {
    const rank = (s) => (s.date === today ? 0 : s.date > today ? 1 : 2);
    return rank(a) - rank(b) || (a.date + a.start).localeCompare(b.date + b.start);
  });
  mount(root,
    h('button', { type: 'button', class: 'link', onclick: () => navigate('#/') }, `‹ ${t('visit.back')}`),
    h('h2', {}, t('list.sessions_of', { name: klass?.name || '' })),
    h('ul', { class: 'cards' }, sessions.map((s) => h('li', {}, h('button', {
      type: 'button', class: 'card', 'data-testid': 'covert-session',
      onclick: () => navigate(`#/start/c/${classId}/${s.id}`) },
    h('span', { class: 'card-title' }, `${s.date === today ? `${t('list.today')} · ` : ''}${s.date}`),
    h('span', {}, `${s.start.slice(0, 5)}–${s.end.slice(0, 5)} · ${t(`category.${s.category}`)} · ${s.topic}`),
    phaseLabel(s))))));
}

/** What the start screen needs for a covert session. */
export function covertInfo(scope, classId, sessionId) {
  const found = scope.sessionIndex.get(sessionId);
  if (!found || found.version.class_id !== classId) return null;
  return { ...describe(scope, classId, found.session, found.version), inspector_ids: [] };
}
