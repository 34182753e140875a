"""Trainee QR badges: a compact token (trainee, class, issue date) signed with the bureau's key.

Token layout (before base64url without padding):

    version (1) | trainee uuid (16) | class uuid (16) | issue date, days since 2000-01-01 (2, BE)
    | signature (64)

The signature covers the first 35 bytes. ECDSA P-256 with SHA-256 is the default because every
phone browser verifies it in WebCrypto; an Ed25519 key in BADGE_SIGNING_KEY is honoured too
(version byte 2). ECDSA signatures travel as raw r||s, which is what WebCrypto expects.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import struct
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from flask import current_app

from schemas.pull import BadgeKeyDataSchema
from server.extensions import db
from server.models import ChangeLog
from server.services.changes import record_change
from server.services.clock import local_today
from server.services.filed_roster import RosterEntry, roster_by_name
from server.services.plan_versions import roster_version

EPOCH = date(2000, 1, 1)
VERSION_ECDSA_P256 = 1
VERSION_ED25519 = 2
_BODY = struct.Struct(">B16s16sH")
TOKEN_BYTES = _BODY.size + 64

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class BadgeClaims:
    """What a valid badge says: whose it is, for which class, issued when."""

    trainee_id: uuid.UUID
    class_id: uuid.UUID
    issued: date
    version: int


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derived_key(secret: str) -> ec.EllipticCurvePrivateKey:
    """Derive a P-256 key from SECRET_KEY: stable across restarts, fine for the demo only."""
    seed = hmac.new(secret.encode(), b"spotcheck-badge-key", hashlib.sha512).digest()
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    scalar = int.from_bytes(seed, "big") % (order - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def signing_key() -> PrivateKey:
    """Return the badge signing key: BADGE_SIGNING_KEY (PEM) or one derived from SECRET_KEY."""
    pem = (current_app.config.get("BADGE_SIGNING_KEY") or "").strip()
    cache = current_app.extensions.setdefault("spotcheck_badge_key", {})
    cache_key = pem or "derived:" + current_app.config["SECRET_KEY"]
    if cache_key in cache:
        return cache[cache_key]
    if pem:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("BADGE_SIGNING_KEY must be an ECDSA P-256 or Ed25519 private key")
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise ValueError("BADGE_SIGNING_KEY must be an ECDSA P-256 or Ed25519 private key")
    else:
        key = _derived_key(current_app.config["SECRET_KEY"])
    cache[cache_key] = key
    return key


def _version_of(key: PrivateKey | PublicKey) -> int:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return VERSION_ED25519
    return VERSION_ECDSA_P256


def _sign(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _verify(key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def sign_badge(trainee_id: uuid.UUID, class_id: uuid.UUID, issued: date | None = None) -> str:
    """Return the badge token (base64url) for one trainee of one class."""
    issued = issued or local_today()  # the date in the bureau's zone
    days = (issued - EPOCH).days
    if not 0 <= days <= 0xFFFF:
        raise ValueError("issue date out of range")
    key = signing_key()
    body = _BODY.pack(_version_of(key), trainee_id.bytes, class_id.bytes, days)
    return _b64url(body + _sign(key, body))


def verify_badge_token(token: str) -> BadgeClaims | None:
    """Return the claims of a genuine badge token; None for a forged, altered or garbled one."""
    if not isinstance(token, str) or len(token) > 256:
        return None
    try:
        raw = _unb64url(token.strip())
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES:
        return None
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    version, trainee, klass, days = _BODY.unpack(body)
    public = signing_key().public_key()
    # A token of another algorithm than the current key's cannot be genuine.
    if version != _version_of(public) or not _verify(public, signature, body):
        return None
    return BadgeClaims(
        trainee_id=uuid.UUID(bytes=trainee), class_id=uuid.UUID(bytes=klass),
        issued=EPOCH + timedelta(days=days), version=version,
    )


def public_key_jwk() -> dict[str, str]:
    """Return the public key as a JWK for WebCrypto `importKey("jwk", ...)`, with a key id."""
    return _jwk(signing_key().public_key(), key_id())


def _jwk(public: PublicKey, kid: str) -> dict[str, str]:
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    else:
        numbers = public.public_numbers()
        jwk = {
            "kty": "EC", "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }
    jwk["kid"] = kid
    return jwk


def public_key_raw() -> bytes:
    """Return the public key in raw form (uncompressed point for P-256, 32 bytes for Ed25519)."""
    public = signing_key().public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def key_id() -> str:
    """Return a short, stable id of the current public key (first 16 hex of its SHA-256)."""
    return _published_form().kid


@dataclass(frozen=True)
class _PublishedForm:
    """What the pull publishes of the current key: its id, pull entity id and pull data."""

    kid: str
    entity_id: uuid.UUID
    data: dict[str, object]


def _published_form() -> _PublishedForm:
    """Return the current key's published form, computed once per process and key.

    It depends on the key alone (BADGE_SIGNING_KEY or SECRET_KEY), which is configuration: every
    worker computes the same values, so a worker's copy never needs another worker's. Every pull
    asks for it; serialising the key and hashing it cost more than the rest of a no-op pull.
    """
    key = signing_key()
    cache = current_app.extensions.setdefault("spotcheck_badge_key_form", {})
    form = cache.get(id(key))
    if form is None or form[0] is not key:
        kid = hashlib.sha256(public_key_raw()).hexdigest()[:16]
        entity_id = uuid.uuid5(uuid.NAMESPACE_URL, "spotcheck:badge_key:" + kid)
        # Cached only once whole: a failure on the way leaves nothing half-made behind.
        data = BadgeKeyDataSchema().dump(_payload(key.public_key(), kid, entity_id))
        form = (key, _PublishedForm(kid=kid, entity_id=entity_id, data=data))
        cache[id(key)] = form
    return form[1]


def badge_key_entity_id() -> uuid.UUID:
    """Return the pull entity id of the current badge key: one id per key, derived from it."""
    return _published_form().entity_id


def badge_key_payload() -> dict[str, object]:
    """Return what the pull carries for type `badge_key`: algorithm, version byte, JWK, key id."""
    form = _published_form()
    return _payload(signing_key().public_key(), form.kid, form.entity_id)


def _payload(public: PublicKey, kid: str, entity_id: uuid.UUID) -> dict[str, object]:
    version = _version_of(public)
    return {
        "id": str(entity_id),
        "kid": kid,
        "alg": "Ed25519" if version == VERSION_ED25519 else "ES256",
        "token_version": version,
        "jwk": _jwk(public, kid),
    }


def publish_badge_key() -> uuid.UUID:
    """Record the current badge key for every county (pull type `badge_key`); withdraw old keys."""
    from sqlalchemy import func, select


    entity_id = badge_key_entity_id()
    latest = (select(ChangeLog.entity_id, func.max(ChangeLog.seq).label("seq"))
              .where(ChangeLog.entity_type == "badge_key").group_by(ChangeLog.entity_id).subquery())
    published = dict(db.session.execute(
        select(latest.c.entity_id, ChangeLog.op).join(ChangeLog, ChangeLog.seq == latest.c.seq)
    ).all())
    for old_id, op in published.items():
        if old_id != entity_id and op != "delete":
            record_change("badge_key", old_id, "delete", county_id=None)
    if published.get(entity_id) != "put":
        record_change("badge_key", entity_id, county_id=None)
    return entity_id


def ensure_badge_key_published() -> None:
    """Publish the current key once per process and key (pull calls this; phones need the key)."""

    done = current_app.extensions.setdefault("spotcheck_badge_key_published", set())
    kid = key_id()
    if kid in done:
        return
    publish_badge_key()
    db.session.commit()
    done.add(kid)


def serialise_badge_key(entity_id: uuid.UUID) -> dict[str, object] | None:
    """Pull serialiser for `badge_key`: the current key's data, None (a delete) for an old key."""
    form = _published_form()
    if entity_id != form.entity_id:
        return None
    return copy.deepcopy(form.data)  # the caller's own copy: the cached one is never changed


def class_roster(class_id: uuid.UUID) -> list[RosterEntry]:
    """Return the trainees on the roster of the class's version in force, as it was filed (R7),
    ordered by name."""
    return roster_by_name(roster_version(class_id))
