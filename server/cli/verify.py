"""`flask --app wsgi verify`: re-check every visit's seal, shown value, sign-in and file.

A visit's payload must match the phone's seal; the columns readers show (verdict, ids, times)
must be what that payload says; the server's own values (checks, flags) and every sign-in row
with its flags must match their record seals (services/record_seal.py); no sign-in a visit's
sealed reconciliation counted may be gone, nor any refused attempt (an expired code, a roster
miss: audit rows) it counted; every stored file its SHA-256.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime

import click
from sqlalchemy import select

from server.extensions import db
from server.models import Media, SignIn, Visit
from server.services.attendance import visit_sign_ins
from server.services.clock import parse_instant
from server.services.media_store import store
from server.services.record_seal import payload_seal_state, signin_seal, visit_seal
from server.services.signin_flags import ANOMALY_CODES, visit_anomalies


def shown_differences(visit: Visit) -> list[str]:
    """Name the columns a reader shows that disagree with the visit's sealed payload."""
    payload = visit.payload or {}
    expected = {
        "verdict": payload.get("verdict"), "class_id": payload.get("class_id"),
        "session_id": payload.get("session_id"), "plan_version_id": payload.get("plan_version_id"),
        "assignment_id": payload.get("assignment_id"), "supersedes_id": payload.get("supersedes"),
        "started_at": payload.get("started_at"), "ended_at": payload.get("ended_at"),
    }
    differing = []
    for column, sealed in expected.items():
        shown = getattr(visit, column)
        if isinstance(shown, datetime):
            shown = shown.astimezone(UTC)
            # A sealed time that names no instant differs from the shown one.
            instant = parse_instant(sealed)
            sealed = instant.astimezone(UTC) if instant is not None else sealed
        elif shown is not None:
            shown = str(shown)
        if shown != sealed:
            differing.append(column)
    return differing


def missing_sign_ins(visit: Visit, rows: list[SignIn]) -> dict[str, int]:
    """Per method, how many sign-ins the visit's sealed reconciliation counted are gone now.

    Its `checks.reconciliation.by_method` (sealed with the visit) counts the sign-ins it had when
    last judged, by the readers' own rule (attendance.visit_sign_ins); sign-ins are never
    deleted, so fewer now means rows were deleted behind the server's back. More is not named:
    a sign-in may arrive after the visit's last judgement. rows: the visit's sign-ins as
    attendance.visit_sign_ins reads them.
    """
    sealed = ((visit.checks or {}).get("reconciliation") or {}).get("by_method")
    if not isinstance(sealed, dict) or not sealed:
        return {}
    live = Counter(signin.method for signin in rows)
    return {method: count - live[method] for method, count in sealed.items()
            if isinstance(count, int) and live[method] < count}


def missing_refusals(visit: Visit, rows: list[SignIn]) -> dict[str, int]:
    """Per code, how many refused attempts the visit's sealed reconciliation counted are gone.

    Refused self sign-ins (signin.code_expired, signin.not_on_roster) are audit rows, which have
    no seal of their own; the visit's `checks.reconciliation.flags` (sealed with the visit)
    counts them, with any sign-in flagged so, as reconcile_attendance does (R8, R9: the review
    shows them as anomalies). They are never deleted, so fewer now means rows were deleted.
    """
    sealed = ((visit.checks or {}).get("reconciliation") or {}).get("flags")
    if not isinstance(sealed, dict) or not sealed:
        return {}
    live = Counter(anomaly["code"] for anomaly in visit_anomalies(visit.id))
    live.update(flag for signin in rows for flag in signin.flags or [] if flag in ANOMALY_CODES)
    return {code: sealed[code] - live[code] for code in ANOMALY_CODES
            if isinstance(sealed.get(code), int) and live[code] < sealed[code]}


def _counts(missing: dict[str, int]) -> str:
    return ", ".join(f"{key}: {n}" for key, n in sorted(missing.items()))


def find_tampering() -> list[str]:
    """Return one line per visit or media file that no longer matches its hash."""

    backend = store()
    problems: list[str] = []
    for visit in db.session.scalars(select(Visit).order_by(Visit.received_at,
                                                           Visit.id)).yield_per(200):
        recomputed, intact = payload_seal_state(visit)
        if recomputed is None:
            problems.append(f"visit {visit.id}: payload cannot be serialised")
            continue
        if not intact:
            problems.append(f"visit {visit.id}: seal mismatch (stored {visit.seal}, content "
                            f"{recomputed})")
            continue
        differing = shown_differences(visit)
        if differing:
            problems.append(f"visit {visit.id}: shown values differ from the sealed payload "
                            f"({', '.join(differing)})")
        elif visit.row_seal != visit_seal(visit):
            problems.append(f"visit {visit.id}: shown values (checks, flags, ids or times) "
                            "differ from its record seal")
        else:
            rows = visit_sign_ins(visit.id, (visit.payload or {}).get("signins") or []).rows
            if missing := missing_sign_ins(visit, rows):
                problems.append(f"visit {visit.id}: sign-ins its sealed reconciliation counted "
                                f"are gone ({_counts(missing)})")
            if refused := missing_refusals(visit, rows):
                problems.append(f"visit {visit.id}: refused sign-in attempts its sealed "
                                f"reconciliation counted are gone ({_counts(refused)})")
    signins = select(SignIn).order_by(SignIn.received_at, SignIn.id)
    for signin in db.session.scalars(signins).yield_per(500):
        if signin.row_seal != signin_seal(signin):
            problems.append(f"sign-in {signin.id} (visit {signin.visit_id}): shown values (its "
                            "row or flags) differ from its record seal")
    for media in db.session.scalars(select(Media).order_by(Media.sha256)).yield_per(200):
        actual = backend.sha256_of(media.sha256)
        if actual is None:
            problems.append(f"media {media.sha256}: file missing at {backend.where(media.sha256)}")
        elif actual != media.sha256:
            problems.append(f"media {media.sha256}: content hash is {actual} "
                            f"({backend.where(media.sha256)})")
    return problems


@click.command("verify")
def verify_command() -> None:
    """Recompute every visit seal and media hash; exit 1 naming each record that fails."""
    problems = find_tampering()
    visits = db.session.scalar(select(db.func.count()).select_from(Visit))
    files = db.session.scalar(select(db.func.count()).select_from(Media))
    for line in problems:
        click.echo(line, err=True)
    if problems:
        click.echo(f"verify: {len(problems)} problem(s) in {visits} visits and {files} files",
                   err=True)
        sys.exit(1)
    click.echo(f"verify: {visits} visits and {files} files intact")
