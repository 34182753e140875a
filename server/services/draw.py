"""The auditable random draw (R10) and suggested itineraries.

Commit-reveal: when a county draws, a random seed is made and only its SHA-256 is shown; the
seed itself is revealed once the period is over. Everything the draw depends on is stored
with it: the canonical class list (each active class with the ids of its sessions that were
still to come, sorted) and the inspector pool (sorted ids). The picks are a pure function of
seed + lists, defined with SHA-256 only so anyone can recompute them in any language:

    digest = SHA-256(seed UTF-8 || 0x0A || canonical_json(class_list) || 0x0A ||
                     canonical_json(inspector_list))
    pick(label, n) = int(SHA-256(digest || label UTF-8), big-endian) mod n

For the i-th class (0-based, in list order): session = sessions[pick("class:i", len)], then a
team drawn without replacement from the pool: for j in 0..size-1, take
pool.pop(pick("class:i:inspector:j", len(pool))); the team is stored sorted.
canonical_json = JSON with sorted keys, no spaces, UTF-8.

A class is drawn once for a period: a class that a draw of the same county over an overlapping
period already lists is left out of a new one (which then draws only classes filed since, so
each class still gets its check, R10 "每个班次抽查不少于一次"), and a draw with nothing but such
classes is refused 409 `draw.already_drawn`. So nobody can draw again until the outcome suits
them, and two draws made at the same moment (two admins, or the city and the county) never give
a class two visits: draws of one county take the county row's lock (transitions.lock_row) and
look for earlier draws inside it, so the second waits for the first and sees what it drew.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from geopy.distance import geodesic
from sqlalchemy import select

from server.errors import ApiError, field_error
from server.extensions import db
from server.models import (
    Assignment,
    AuditEvent,
    County,
    Draw,
    Plan,
    TrainingBase,
    TrainingClass,
    User,
    utcnow,
)
from server.services.assignments import create_assignment
from server.services.audit import audit
from server.services.base_status import in_programme
from server.services.clock import local_today
from server.services.plan_versions import class_version_in_force
from server.services.scope import can_see_county, county_filter
from server.services.transitions import lock_row

DEFAULT_TEAM_SIZE = 2
# A draw covers the classes running in a period of days to a few months; a year at most. Its
# seed is withheld until the period is over and its classes count as drawn for all of it, so a
# longer period (to 9999-12-31, say) would keep the draw unverifiable and its classes out of
# every later draw for that long.
MAX_DRAW_DAYS = 366


def canonical_json(value: Any) -> bytes:
    """Serialise a value the one way the draw's digest is defined on."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes | str) -> str:
    """Return the hex SHA-256 of bytes or a UTF-8 string."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def active_classes(county_id: uuid.UUID, period_from: date, period_to: date) -> list[TrainingClass]:
    """Classes of a county with a filed plan whose dates overlap the period (bases not revoked)."""
    classes = db.session.scalars(
        select(TrainingClass)
        .join(TrainingBase, TrainingClass.base_id == TrainingBase.id)
        .join(Plan, Plan.class_id == TrainingClass.id)
        .where(TrainingBase.county_id == county_id, in_programme(),
               TrainingClass.start_date <= period_to, TrainingClass.end_date >= period_from)
    ).all()
    return [c for c in classes if class_version_in_force(c) is not None]


def build_class_list(classes: list[TrainingClass], period_from: date, period_to: date,
                     draw_day: date) -> tuple[list[dict[str, Any]], list[str]]:
    """Return the canonical class list and the ids of active classes with nothing left to draw."""
    entries, exhausted = [], []
    for training_class in classes:
        version = class_version_in_force(training_class)
        sessions = sorted(
            str(s.id) for s in version.sessions
            if s.date >= draw_day and period_from <= s.date <= period_to
        )
        if sessions:
            entries.append({"class_id": str(training_class.id), "sessions": sessions})
        else:
            exhausted.append(str(training_class.id))
    entries.sort(key=lambda e: e["class_id"])
    return entries, sorted(exhausted)


def county_inspectors(county_id: uuid.UUID) -> list[User]:
    """Active inspectors of a county, in canonical (id) order."""
    users = db.session.scalars(
        select(User).where(User.role == "inspector", User.county_id == county_id,
                           User.active.is_(True))
    ).all()
    return sorted(users, key=lambda u: str(u.id))


@dataclass(frozen=True)
class Pick:
    """One drawn visit: a class, one of its sessions and a team (sorted inspector ids)."""

    class_id: str
    session_id: str
    inspectors: tuple[str, ...]


def _digest(seed: str, class_list: list[Any], inspector_list: list[Any]) -> bytes:
    return hashlib.sha256(
        seed.encode() + b"\n" + canonical_json(class_list) + b"\n" + canonical_json(inspector_list)
    ).digest()


def _pick(digest: bytes, label: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(digest + label.encode()).digest(), "big") % n


def compute_picks(seed: str, class_list: list[dict[str, Any]], inspector_list: list[str],
                  team_size: int = DEFAULT_TEAM_SIZE) -> list[Pick]:
    """Compute the draw from its seed and lists (the pure function documented above)."""
    digest = _digest(seed, class_list, inspector_list)
    picks = []
    for i, entry in enumerate(class_list):
        sessions = entry["sessions"]
        session = sessions[_pick(digest, f"class:{i}", len(sessions))]
        pool = list(inspector_list)
        team = [pool.pop(_pick(digest, f"class:{i}:inspector:{j}", len(pool)))
                for j in range(min(team_size, len(pool)))]
        picks.append(Pick(entry["class_id"], session, tuple(sorted(team))))
    return picks


def _team_size() -> int:
    return int(current_app.config.get("DRAW_TEAM_SIZE", DEFAULT_TEAM_SIZE))


def drawn_classes(county_id: uuid.UUID, period_from: date,
                  period_to: date) -> dict[str, uuid.UUID]:
    """Class id (text) -> the draw that lists it, among the county's draws overlapping the period.
    """
    draws = db.session.execute(
        select(Draw.id, Draw.class_list).where(Draw.county_id == county_id,
                                               Draw.period_from <= period_to,
                                               Draw.period_to >= period_from)
        .order_by(Draw.created_at, Draw.id))
    found: dict[str, uuid.UUID] = {}
    for draw_id, class_list in draws:
        for entry in class_list or []:
            if isinstance(entry, dict) and entry.get("class_id"):
                found.setdefault(str(entry["class_id"]), draw_id)
    return found


def draw_visits(county: County, period_from: date, period_to: date, *, actor: User | None = None,
                today: date | None = None, seed: str | None = None,
                now: datetime | None = None) -> Draw:
    """Draw at least one unannounced visit per active class of a county and assign the teams.

    Classes an overlapping draw of the county already lists are left out (see the module
    docstring). Raises ApiError: validation_error (422, bad period: ends before it starts, is
    over, or is longer than MAX_DRAW_DAYS days), draw.not_enough_inspectors (422),
    draw.already_drawn (409: every class left is in such a draw; details name the draws),
    draw.nothing_to_draw (422).
    """
    today = today or local_today()
    if period_to < period_from:
        raise field_error("to", "field.period.reversed")
    if (period_to - period_from).days + 1 > MAX_DRAW_DAYS:
        raise field_error("to", "field.draw.too_long", days=MAX_DRAW_DAYS)
    if period_to < today:
        raise field_error("to", "field.draw.period_over")
    # One county's draws one at a time: what an earlier draw listed is read inside the lock.
    lock_row(County, county.id)
    team_size = _team_size()
    inspectors = county_inspectors(county.id)
    if len(inspectors) < max(2, team_size):
        raise ApiError("draw.not_enough_inspectors", details={"inspectors": len(inspectors)})
    drawn = drawn_classes(county.id, period_from, period_to)
    classes = active_classes(county.id, period_from, period_to)
    class_list, exhausted = build_class_list(
        [c for c in classes if str(c.id) not in drawn], period_from, period_to, today)
    if not class_list:
        already = {drawn[str(c.id)] for c in classes if str(c.id) in drawn}
        if already:
            raise ApiError("draw.already_drawn",
                           details={"draws": sorted(str(d) for d in already)})
        raise ApiError("draw.nothing_to_draw")
    inspector_list = [str(u.id) for u in inspectors]
    seed = seed or secrets.token_hex(32)
    draw = Draw(county_id=county.id, period_from=period_from, period_to=period_to,
                seed_sha256=sha256_hex(seed), seed=seed, class_list=class_list,
                inspector_list=inspector_list, created_at=now or utcnow(),
                created_by_id=actor.id if actor else None)
    db.session.add(draw)
    db.session.flush()
    by_id = {str(u.id): u for u in inspectors}
    for pick in compute_picks(seed, class_list, inspector_list, team_size):
        create_assignment(uuid.UUID(pick.class_id), uuid.UUID(pick.session_id),
                          [by_id[i] for i in pick.inspectors], draw=draw, actor=actor)
    # The published commitment: the seed's hash and the digests of both lists, kept apart
    # from the draw row so an edit to one of them is caught by verify.
    audit("draw.create", "draw", draw.id, user=actor, county=county.name,
          period_from=period_from.isoformat(), period_to=period_to.isoformat(),
          seed_sha256=draw.seed_sha256, team_size=team_size,
          class_list_sha256=sha256_hex(canonical_json(class_list)),
          inspector_list_sha256=sha256_hex(canonical_json(inspector_list)),
          classes_without_sessions=exhausted, assignments=len(class_list),
          classes_already_drawn=sorted(c for c in drawn if c in {str(k.id) for k in classes}))
    return draw


def draw_assignments(draw: Draw) -> list[Assignment]:
    """Return the assignments a draw made."""
    return list(db.session.scalars(
        select(Assignment).where(Assignment.draw_id == draw.id).order_by(Assignment.date)
    ).all())


def _commitment(draw: Draw) -> AuditEvent | None:
    return db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "draw.create",
                                 AuditEvent.entity_id == str(draw.id))
    )


def draw_problems(draw: Draw) -> list[str]:
    """Recompute a draw from its seed and lists; return what does not match (empty: verified)."""
    problems = []
    if sha256_hex(draw.seed) != draw.seed_sha256:
        problems.append("seed: SHA-256 of the seed differs from the published hash")
    commitment = _commitment(draw)
    if commitment is None:
        problems.append("commitment: no draw.create audit event")
        team_size = _team_size()
    else:
        details = commitment.details
        team_size = int(details.get("team_size", DEFAULT_TEAM_SIZE))
        if details.get("seed_sha256") != draw.seed_sha256:
            problems.append("seed_sha256: differs from the published commitment")
        if details.get("class_list_sha256") != sha256_hex(canonical_json(draw.class_list)):
            problems.append("class_list: differs from the published commitment")
        if details.get("inspector_list_sha256") != sha256_hex(canonical_json(draw.inspector_list)):
            problems.append("inspector_list: differs from the published commitment")
    try:
        expected = compute_picks(draw.seed, draw.class_list, draw.inspector_list, team_size)
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return problems + ["class_list: cannot be read"]
    stored = sorted(
        (str(a.class_id), str(a.session_id), tuple(sorted(str(u.id) for u in a.inspectors)))
        for a in draw_assignments(draw)
    )
    if sorted((p.class_id, p.session_id, p.inspectors) for p in expected) != stored:
        problems.append("assignments: differ from the recomputed draw")
    return problems


def verify_draw(draw: Draw) -> bool:
    """True when the stored draw matches its seed, its lists and its published commitment."""
    return not draw_problems(draw)


def seed_revealed(draw: Draw, today: date | None = None) -> bool:
    """The seed is shown only once the period is over."""
    return (today or local_today()) > draw.period_to


def public_seed(draw: Draw, today: date | None = None) -> str | None:
    """Return the seed if it may be shown, else None."""
    return draw.seed if seed_revealed(draw, today) else None


def find_county(name: str) -> County:
    """Return the county with this name or raise not_found."""
    county = db.session.scalar(select(County).where(County.name == name))
    if county is None:
        raise ApiError("not_found", "auth.unknown_county", params={"name": name})
    return county


def county_to_draw(user: User, county_id: uuid.UUID | None) -> County:
    """The county a draw is for: the city names one; a county admin draws for its own only."""
    if user.is_city:
        county = db.session.get(County, county_id) if county_id else None
        if county is None:
            raise field_error("county_id", "field.county_required")
        return county
    if county_id not in (None, user.county_id):
        raise ApiError("forbidden")
    return db.session.get(County, user.county_id)


def list_draws(user: User) -> list[Draw]:
    """Draws within a reviewer's scope, newest first."""
    query = select(Draw).order_by(Draw.created_at.desc())
    county = county_filter(user)
    if county is not None:
        query = query.where(Draw.county_id == county)
    return list(db.session.scalars(query).all())


def get_draw(user: User, draw_id: uuid.UUID) -> Draw:
    """Return a draw the user may see; 404 otherwise (existence is not disclosed)."""
    draw = db.session.get(Draw, draw_id)
    if draw is None or not can_see_county(user, draw.county_id):
        raise ApiError("not_found")
    return draw


def itineraries(assignments: list[Assignment]) -> list[dict[str, Any]]:
    """Group a team's visits of one day and order them by geodesic distance (nearest next).

    Starts from the site of the earliest session and always goes on to the nearest site not yet
    visited; each stop carries the distance from the previous one, in kilometres.
    """
    groups: dict[tuple[date, tuple[str, ...]], list[Assignment]] = {}
    for a in assignments:
        team = tuple(sorted(u.display_name or u.username for u in a.inspectors))
        groups.setdefault((a.date, team), []).append(a)
    result = []
    for (day, team), members in sorted(groups.items()):
        remaining = sorted(members, key=lambda a: (a.session.start_time, str(a.id)))
        route = [remaining.pop(0)]
        legs = [0.0]
        while remaining:
            here = route[-1].session.site
            nearest = min(remaining, key=lambda a: _km(here, a.session.site))
            legs.append(_km(here, nearest.session.site))
            remaining.remove(nearest)
            route.append(nearest)
        result.append({
            "date": day, "team": list(team), "total_km": round(sum(legs), 2),
            "stops": [{"assignment": a, "site": a.session.site, "km_from_previous": round(km, 2)}
                      for a, km in zip(route, legs, strict=True)],
        })
    return result


def _km(a, b) -> float:
    return geodesic((a.lat, a.lon), (b.lat, b.lon)).km
