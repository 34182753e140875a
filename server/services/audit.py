"""Record audit events in the caller's transaction, so an action and its audit commit together."""

from __future__ import annotations

from typing import Any

from server.extensions import db
from server.models import AuditEvent, User


def audit(
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    user: User | None = None,
    device_id: str = "",
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current session (committed with the action it records)."""
    event = AuditEvent(
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        user_id=user.id if user is not None else None,
        device_id=device_id,
        details=details,
    )
    db.session.add(event)
    return event
