"""signin.create: a trainee's sign-in, accepted before or after its visit.

A sign-in names its visit; when the visit is already stored, its attendance is judged again
at the end of the batch (sign-ins usually arrive first, in the order the phone took them).
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any, NamedTuple

from marshmallow import ValidationError
from sqlalchemy import Select, bindparam, func, select

from schemas.fastload import FastLoad
from schemas.visits import SignInPayloadSchema
from server.extensions import db
from server.models import (
    Assignment,
    Media,
    SignIn,
    Trainee,
    TrainingBase,
    TrainingClass,
    User,
    Visit,
)
from server.services.badges import verify_badge_token
from server.services.push_context import PushContext, any_of
from server.services.record_seal import SigninSealer
from server.services.scope import can_see_base
from server.services.signin_flags import flag_pushed_signins
from sync.push import Mutation, Outcome, Rejected

_schema = FastLoad(SignInPayloadSchema())  # same schema, walked quickly (hot path of push)
# A new sign-in's flags (set at the end of the batch): one shared empty value, so the batch's
# insert converts it to JSON once (push_context.bulk_insert), not once per row.
NO_FLAGS: tuple[str, ...] = ()



class _Lookups(NamedTuple):
    """The batch's look-ups, built once per dialect (building a statement, above all an IN of
    100 ids, cost about as much as running it). Core statements: no ORM entity to load, no
    autoflush (the batch's own rows are not among what they look for)."""

    count_trainees: Select[Any]
    found_trainees: Select[Any]
    signature_owners: Select[Any]


@cache
def _lookups(dialect: str) -> _Lookups:
    trainees, media, users = Trainee.__table__, Media.__table__, User.__table__
    named_trainees = any_of(trainees.c.id, "ids", dialect)
    return _Lookups(
        count_trainees=select(func.count()).select_from(trainees).where(named_trainees),
        found_trainees=select(trainees.c.id).where(named_trainees),
        signature_owners=(
            select(media.c.sha256, media.c.uploaded_by_id, users.c.county_id)
            .join_from(media, users, users.c.id == media.c.uploaded_by_id)
            .where(any_of(media.c.sha256, "hashes", dialect))))


# The class's base and, when the visit is already stored, the visit's class; the one look-up
# loading an ORM object, the base, since services/scope.py judges a TrainingBase.
_CLASS_SCOPE = (
    select(TrainingBase, select(Visit.class_id).where(Visit.id == bindparam("visit_id"))
           .scalar_subquery())
    .join(TrainingClass, TrainingClass.base_id == TrainingBase.id)
    .where(TrainingClass.id == bindparam("class_id")))


def _load(payload: Any) -> dict[str, Any]:
    try:
        return _schema.load(payload)
    except ValidationError as error:
        raise Rejected("validation_error", "signin.invalid_payload",
                       errors=error.normalized_messages()) from error


def check_badge(token: str, class_id: uuid.UUID, trainee_id: uuid.UUID | None) -> uuid.UUID:
    """Return the trainee a badge token proves, or reject a forged or foreign badge."""

    claims = verify_badge_token(token)
    if claims is None:
        raise Rejected("signin.badge_invalid", "signin.badge_unreadable")
    if str(claims.class_id) != str(class_id):
        raise Rejected("signin.badge_invalid", "signin.badge_other_class")
    if trainee_id is not None and str(claims.trainee_id) != str(trainee_id):
        raise Rejected("signin.badge_invalid", "signin.badge_other_trainee")
    return uuid.UUID(str(claims.trainee_id))


def create_signin(context: PushContext, mutation: Mutation) -> Outcome:
    """Store one sign-in; validate everything before adding it (see sync_store: fast mode)."""
    data = _load(mutation.payload)
    if mutation.entity_id is None:
        raise Rejected("validation_error", "signin.no_record_id",
                       errors={"entity_id": ["required"]})
    trainee_id = data["trainee_id"]
    if data["badge_token"]:
        trainee_id = check_badge(data["badge_token"], data["class_id"], trainee_id)
    elif data["method"] == "badge":
        raise Rejected("validation_error", "signin.badge_missing",
                       errors={"badge_token": ["required for method badge"]})
    if trainee_id is None:
        raise Rejected("validation_error", "signin.trainee_missing",
                       errors={"trainee_id": ["required"]})
    if not _in_scope(context, data["class_id"], data["visit_id"]):
        raise Rejected("signin.unknown_class")
    signature = data["signature_sha256"]
    if signature and _foreign_signature(context, signature, data):
        raise Rejected("visit.foreign_media")
    # Two checks the fast try leaves to the database, which makes the batch's insert fail (a
    # rare, wrong batch); the careful retry then makes them per sign-in, so only the faulty one
    # is rejected, with the same code whichever try decides. They come last for that reason.
    # - A trainee that does not exist: the sign-in's foreign key to trainee.
    # - A sign-in id already stored: the same sign-in sent again (a re-send after a server
    #   restore) is done, another one with that id is rejected (sync.conflict).
    if context.careful:
        if not _trainee_exists(context, trainee_id):
            raise Rejected("signin.unknown_trainee")
        if _already_stored(context, mutation, data, trainee_id):
            return Outcome(detail="sync.already_stored")
    row = {
        "id": context.uuid_of(mutation.entity_id), "visit_id": data["visit_id"],
        "trainee_id": trainee_id,
        "method": data["method"], "badge_token": data["badge_token"], "at": data["at"],
        "gps": _gps_json(data["gps"]), "signature_sha256": data["signature_sha256"],
        "device_id": context.device_id, "user_id": context.user.id,
        "received_at": context.received_at, "flags": NO_FLAGS,
    }
    sealer = context.signin_sealer
    if sealer is None:
        sealer = context.signin_sealer = SigninSealer()
    sealer.seal(row)
    context.insert(SignIn, row)
    context.touched_visits.add(data["visit_id"])
    context.new_signins.append((row, data["class_id"]))
    return Outcome()


def _already_stored(context: PushContext, mutation: Mutation, data: dict[str, Any],
                    trainee_id: uuid.UUID) -> bool:
    stored = db.session.get(SignIn, context.uuid_of(mutation.entity_id))
    return (stored is not None and stored.user_id == context.user.id
            and stored.visit_id == data["visit_id"]
            and stored.trainee_id == trainee_id)


def _foreign_signature(context: PushContext, signature: str, data: dict[str, Any]) -> bool:
    """visits.foreign_media's rule for one signature, with the batch's owners looked up once.

    Foreign: stored, uploaded by someone outside the pusher and its assignment's team, and
    not of the pusher's county. The team is read only when the first two do not settle it.
    """
    if not context.signatures_prefetched:
        _prefetch_signature_owners(context)
    found = context.signature_owners.get(signature)
    if found is None or found[0] == context.user.id:
        return False
    county_id = context.user.county_id
    if county_id is not None and found[1] == county_id:
        return False
    return found[0] not in _team_of(context, data)


def _prefetch_signature_owners(context: PushContext) -> None:
    """Look up who stored each signature the batch's sign-ins name, in one query."""
    context.signatures_prefetched = True
    named = {h for m in context.batch if m.type == "signin.create" and isinstance(m.payload, dict)
             if isinstance(h := m.payload.get("signature_sha256"), str)}
    if not named:
        return
    connection = db.session.connection()
    rows = connection.execute(_lookups(connection.dialect.name).signature_owners,
                              {"hashes": list(named)})
    context.signature_owners.update({sha: (owner, county) for sha, owner, county in rows})


def _team_of(context: PushContext, data: dict[str, Any]) -> set[uuid.UUID]:
    """The pusher, and the team of the visit's assignment when the visit is already stored."""
    visit = db.session.get(Visit, data["visit_id"])
    assignment = (db.session.get(Assignment, visit.assignment_id)
                  if visit and visit.assignment_id else None)
    return {context.user.id} | ({u.id for u in assignment.inspectors} if assignment else set())


def may_sign_in(user: User, class_id: uuid.UUID, visit_id: uuid.UUID) -> bool:
    """Whether the user may add a sign-in to the visit of the class: the class is in the user's
    scope and, if the visit is already stored, it is that class's visit.

    Like visit.submit: a phone of one county must not add evidence to another county's class or
    visit. The one rule for pushed sign-ins (signin.create) and for the self sign-in codes an
    inspector's phone makes (services/selfsignin.py).
    """
    with db.session.no_autoflush:  # a look-up must not flush a push batch's rows one by one
        row = db.session.execute(_CLASS_SCOPE, {"class_id": class_id,
                                                "visit_id": visit_id}).first()
    return row is not None and can_see_base(user, row[0]) and row[1] in (None, class_id)


def _in_scope(context: PushContext, class_id: uuid.UUID, visit_id: uuid.UUID) -> bool:
    """may_sign_in for the pusher, decided once per (class, visit) of the batch."""
    # One dict look-up per sign-in (a UUID hashes and compares in Python).
    key = (class_id, visit_id)
    allowed = context.signin_scope.get(key)
    if allowed is None:
        allowed = context.signin_scope[key] = may_sign_in(context.user, class_id, visit_id)
    return allowed


def _trainee_exists(context: PushContext, trainee_id: uuid.UUID) -> bool:
    known = context.trainee_known.get(trainee_id)
    if known is None and not context.trainees_prefetched:
        _prefetch_trainees(context)
        known = context.trainee_known.get(trainee_id)
    if known is None:  # not named as such in the payloads (a badge's trainee)
        connection = db.session.connection()
        known = context.trainee_known[trainee_id] = connection.execute(
            _lookups(connection.dialect.name).found_trainees,
            {"ids": [trainee_id]}).first() is not None
    return known


def _prefetch_trainees(context: PushContext) -> None:
    """Look up every trainee the batch's sign-ins name in one query, not one query each."""
    context.trainees_prefetched = True
    texts = {str(mutation.payload.get("trainee_id")) for mutation in context.batch
             if mutation.type == "signin.create" and isinstance(mutation.payload, dict)}
    named: set[uuid.UUID] = set()
    for text in texts:  # each id parsed once: a batch names a class's trainees again and again
        try:  # not validated yet: an id that does not parse is simply not looked up here
            named.add(uuid.UUID(text))
        except ValueError:
            continue
    if not named:
        return
    connection = db.session.connection()
    lookups, ids = _lookups(connection.dialect.name), {"ids": list(named)}
    # Usually every one exists: counting them is cheaper than reading them back.
    if connection.execute(lookups.count_trainees, ids).scalar() == len(named):
        found = named
    else:
        found = set(connection.scalars(lookups.found_trainees, ids))
    for trainee_id in named:
        context.trainee_known[trainee_id] = trainee_id in found


def _gps_json(gps: dict[str, Any] | None) -> dict[str, Any] | None:
    if gps is None:
        return None
    return {**gps, "captured_at": gps["captured_at"].isoformat().replace("+00:00", "Z")}


def flag_new_signins(context: PushContext) -> None:
    """End of batch: anti-proxy flags on its sign-ins, attendance findings on their visits."""
    flag_pushed_signins(context.new_signins, context)

