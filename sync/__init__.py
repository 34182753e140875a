"""The sync protocol in pure Python (DESIGN §4): seal, cursor, push ledger rules, judgement.

Nothing here imports Flask or the database; the server supplies a small store (sync.push.Store).
"""

from sync.canonical import canonical_json, compute_seal, seal_matches
from sync.cursor import Cursor, CursorError, decode_cursor, encode_cursor, scope_fingerprint
from sync.push import (
    Mutation,
    Outcome,
    PushResponse,
    Rejected,
    Result,
    Store,
    apply_push,
)

__all__ = [
    "Cursor", "CursorError", "Mutation", "Outcome", "PushResponse", "Rejected",
    "Result", "Store", "apply_push", "canonical_json", "compute_seal", "decode_cursor",
    "encode_cursor", "scope_fingerprint", "seal_matches",
]
