"""Personal data at rest: AES-256-GCM for ID numbers, a keyed hash (HMAC-SHA256) for look-ups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from server.services.idcard import normalise_id_number


def _keys() -> tuple[bytes, bytes]:
    configured = current_app.config.get("PII_KEY") or ""
    if configured:
        root = base64.b64decode(configured)
        if len(root) != 32:
            raise ValueError("PII_KEY must be 32 bytes, base64-encoded")
    else:
        root = hashlib.sha256(("pii:" + current_app.config["SECRET_KEY"]).encode()).digest()
    # Separate keys for encryption and hashing, both derived from the one configured secret.
    enc = hmac.new(root, b"spotcheck-id-encryption", hashlib.sha256).digest()
    mac = hmac.new(root, b"spotcheck-id-lookup", hashlib.sha256).digest()
    return enc, mac


def encrypt_id_number(raw: str) -> bytes:
    """Encrypt an ID number: 12-byte nonce followed by the ciphertext and tag."""
    enc_key, _ = _keys()
    nonce = os.urandom(12)
    return nonce + AESGCM(enc_key).encrypt(nonce, normalise_id_number(raw).encode(), b"id_number")


def decrypt_id_number(blob: bytes) -> str:
    """Decrypt an ID number stored by encrypt_id_number."""
    enc_key, _ = _keys()
    return AESGCM(enc_key).decrypt(blob[:12], blob[12:], b"id_number").decode()


def id_number_hash(raw: str) -> str:
    """Return the keyed look-up hash of an ID number (hex)."""
    _, mac_key = _keys()
    return hmac.new(mac_key, normalise_id_number(raw).encode(), hashlib.sha256).hexdigest()
