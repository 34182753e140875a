// The home screen: assignments by date, unfinished drafts, covert checks, finished visits.
import { geodesicDistance, shanghaiParts } from '../checks.js';
import { getFix } from '../capture/gps.js';
import { allMedia, getMeta, listDrafts, listVisits, setMeta } from '../db.js';
import { t } from '../i18n.js';
import { currentVersion, describe } from '../scope.js';
import { formatDistance, h, mount } from '../ui.js';

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

function reviewText(review) {
  const key = `review.${review.decision}`;
  const text = t(key, { decision: review.decision });
  return text === key ? t('review.other', { decision: review.decision }) : text;
}

/** Render the home screen from the scope and the local store. */
export async function renderList(root, { scope, auth, navigate }) {
  const [drafts, visits, media, fix] = await Promise.all([listDrafts(), listVisits(), allMedia(),
    getMeta('last_fix')]);
  const today = shanghaiParts(new Date()).date;
  const draftByAssignment = new Map(drafts.filter((d) => d.assignment_id).map((d) => [d.assignment_id, d]));
  const doneAssignments = new Set(visits.map((v) => v.assignment_id).filter(Boolean));

  const groups = new Map();
  for (const item of scope.assignments) {
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
    h('h3', {}, date === today ? `${t('list.today')} · ${date}` : date < today ? `${date} · ${t('list.past')}` : date),
    h('ul', { class: 'cards' }, items.map((item) => {
      const draft = draftByAssignment.get(item.id);
      const done = doneAssignments.has(item.id);
      return h('li', {}, h('button', {
        type: 'button', class: `card${done ? ' done' : ''}`, 'data-testid': 'assignment',
        'data-assignment-id': item.id,
        onclick: () => navigate(draft ? `#/visit/${draft.id}` : `#/start/a/${item.id}`),
      },
      h('span', { class: 'card-title' }, item.class_name || item.class_id.slice(0, 8)),
      h('span', {}, `${item.session.start.slice(0, 5)}–${item.session.end.slice(0, 5)} · `
        + `${t(`category.${item.session.category}`)} · ${item.session.topic}`),
      h('span', { class: 'muted' }, `${item.site?.name || '—'} · ${distanceText(fix, item.site)}`),
      draft ? h('span', { class: 'pill pill-draft' }, t('list.continue')) : null,
      done ? h('span', { class: 'pill pill-match' }, t('list.done')) : null));
    }))));

  const covertDrafts = drafts.filter((d) => !d.assignment_id);
  const draftNodes = covertDrafts.length ? h('section', {},
    h('h3', {}, t('list.drafts')),
    h('ul', { class: 'cards' }, covertDrafts.map((d) => h('li', {}, h('button', {
      type: 'button', class: 'card', onclick: () => navigate(`#/visit/${d.id}`) },
    h('span', { class: 'card-title' }, `${t('visit.covert')} · ${d.filed.class_name}`),
    h('span', {}, `${d.filed.session.date} ${d.filed.session.topic}`),
    h('span', { class: 'pill pill-draft' }, t('list.continue'))))))) : null;

  const isCity = auth.user.role === 'inspector' && !auth.user.county_id;
  const covertNodes = isCity ? h('section', {},
    h('h3', {}, t('list.covert')),
    h('p', { class: 'muted' }, t('list.covert_hint')),
    h('ul', { class: 'cards' }, [...scope.classes.values()].map((klass) => h('li', {}, h('button', {
      type: 'button', class: 'card', 'data-testid': 'covert-class', onclick: () => navigate(`#/covert/${klass.id}`) },
    h('span', { class: 'card-title' }, klass.name), h('span', { class: 'muted' },
      scope.bases.get(klass.base_id)?.name || '')))))) : null;

  const mediaBySha = new Map(media.map((m) => [m.sha256, m]));
  const reviewsByVisit = new Map();
  for (const review of scope.reviews) {
    const list = reviewsByVisit.get(review.visit_id) || [];
    list.push(review);
    reviewsByVisit.set(review.visit_id, list);
  }
  const sortedVisits = [...visits].sort((a, b) => b.created_at.localeCompare(a.created_at));
  const visitNodes = sortedVisits.length ? h('section', {},
    h('h3', {}, t('list.visits')),
    h('ul', { class: 'cards' }, sortedVisits.map((visit) => {
      const state = visitState(visit, mediaBySha);
      return h('li', { class: 'card static', 'data-testid': 'visit-row', 'data-visit-id': visit.id,
        'data-state': state.key },
      h('span', { class: 'card-title' }, `${visit.covert ? `${t('visit.covert')} · ` : ''}${visit.class_name}`),
      h('span', {}, `${visit.session.date} · ${visit.session.topic}`),
      h('span', { class: `pill pill-state-${state.key}` }, state.text),
      (reviewsByVisit.get(visit.id) || []).map((review) => h('span', { class: 'review',
        'data-testid': 'visit-review' }, reviewText(review), review.comment ? `：${review.comment}` : '')));
    }))) : null;

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
  mount(root,
    h('h2', {}, t('list.assignments')),
    assignmentNodes.length ? assignmentNodes : h('p', { class: 'muted' }, t('list.none')),
    draftNodes, covertNodes, visitNodes);
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
    h('span', {}, `${s.start.slice(0, 5)}–${s.end.slice(0, 5)} · ${t(`category.${s.category}`)} · ${s.topic}`))))));
}

/** What the start screen needs for a covert session. */
export function covertInfo(scope, classId, sessionId) {
  const found = scope.sessionIndex.get(sessionId);
  if (!found || found.version.class_id !== classId) return null;
  return { ...describe(scope, classId, found.session, found.version), inspector_ids: [] };
}
