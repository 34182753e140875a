"""The pull cursor: server epoch + change sequence + a fingerprint of the reader's scope.

Opaque to the client (base64url). A cursor from another epoch, or one handed out while the
reader's scope was different, must be answered with a reset, never silently reused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

_VERSION = "c1"


class CursorError(ValueError):
    """The cursor cannot be read: garbled or not one of ours."""


@dataclass(frozen=True)
class Cursor:
    """Where a reader is: everything up to `seq` of `epoch` has been delivered for `scope`."""

    epoch: str
    seq: int
    scope: str

    def is_current(self, epoch: str, scope: str) -> bool:
        """True when the cursor belongs to this epoch and this scope."""
        return self.epoch == epoch and self.scope == scope


def scope_fingerprint(parts: Iterable[object]) -> str:
    """Return a short fingerprint of what decides a reader's scope (role, county, base, user)."""
    text = "|".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    """Encode a cursor as an opaque URL-safe string."""
    raw = f"{_VERSION}:{cursor.epoch}:{cursor.seq}:{cursor.scope}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """Decode an opaque cursor; raise CursorError when it is not one of ours."""
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
        version, epoch, seq, scope = raw.split(":")
        number = int(seq)
    except (ValueError, UnicodeError, binascii.Error) as error:
        raise CursorError("unreadable cursor") from error
    if version != _VERSION or number < 0 or not epoch or not scope:
        raise CursorError("unreadable cursor")
    return Cursor(epoch=epoch, seq=number, scope=scope)
