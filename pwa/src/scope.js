// Read the pulled scope: assignments joined with their class, session, site and teacher.
import { setJudging, setPlanZone } from './checks.js';
import { getMeta, listCached } from './db.js';

function byId(rows) {
  return new Map(rows.map((row) => [row.id, row]));
}

function versionNumber(version) {
  return version.version ?? version.number ?? 0;
}

/** Load everything the lists need from the server cache. */
export async function loadScope() {
  const [assignments, classes, versions, sites, teachers, bases, reviews] = await Promise.all(
    ['assignment', 'training_class', 'plan_version', 'site', 'teacher', 'base', 'visit_review']
      .map((type) => listCached(type)));
  const scope = {
    classes: byId(classes), versions: byId(versions), sites: byId(sites), teachers: byId(teachers),
    bases: byId(bases), reviews,
  };
  scope.sessionIndex = new Map();
  for (const version of versions) {
    setJudging(version.judging); // the server's settings, for the phone's checks
    for (const session of version.sessions || []) {
      scope.sessionIndex.set(session.id, { session, version });
      setPlanZone(session.zone);  // the server's TIMEZONE: local dates on cards and checks
    }
  }
  // The settings the last pull page carried win over those a version carried when it was
  // pulled: a configuration change republishes no version (services/pull.py).
  setJudging(await getMeta('judging'));
  scope.assignments = assignments.map((a) => resolve(scope, a)).filter(Boolean)
    .sort((x, y) => (x.session.date + x.session.start).localeCompare(y.session.date + y.session.start));
  return scope;
}

/** The newest plan version of a class. */
export function currentVersion(scope, classId) {
  let best = null;
  for (const version of scope.versions.values()) {
    if (version.class_id === classId && (!best || versionNumber(version) > versionNumber(best))) {
      best = version;
    }
  }
  return best;
}

function resolve(scope, assignment) {
  const found = scope.sessionIndex.get(assignment.session_id);
  if (!found) return null;
  return {
    id: assignment.id,
    assignment,
    inspector_ids: assignment.inspector_ids || [],
    inspectors: assignment.inspectors || [],
    ...describe(scope, assignment.class_id, found.session, found.version),
  };
}

/** Everything a visit needs to know about one filed session, as a snapshot. */
export function describe(scope, classId, session, version) {
  const klass = scope.classes.get(classId) || { id: classId, name: '' };
  const site = scope.sites.get(session.site_id) || null;
  const teacher = scope.teachers.get(session.teacher_id) || null;
  const base = klass.base_id ? scope.bases.get(klass.base_id) : null;
  return {
    class_id: classId,
    class_name: klass.name || '',
    base_name: base?.name || '',
    plan_version_id: version.id,
    session,
    site,
    teacher,
    roster: version.roster || [],
  };
}

/** A teacher's qualifications as one line (title and skill level, R4). */
export function qualification(teacher) {
  if (!teacher) return '';
  if (teacher.qualification) return teacher.qualification;
  return [teacher.professional_title, teacher.skill_qualification]
    .filter((q) => q && q !== '无').join('、');
}
