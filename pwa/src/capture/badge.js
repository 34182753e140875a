// Verify a trainee's QR badge offline with the bureau's public key from the pull (WebCrypto).
// Token: base64url of version(1) | trainee uuid(16) | class uuid(16) | days since 2000-01-01
// (2, big-endian) | signature(64): ECDSA P-256 r||s (version 1) or Ed25519 (version 2).
import { listCached } from '../db.js';

const BODY = 35;
const EPOCH_MS = Date.UTC(2000, 0, 1);

export function base64urlToBytes(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const raw = atob(b64);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function bytesToUuid(bytes) {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const keys = new Map(); // kid -> CryptoKey, imported once

async function importKey(entry) {
  if (keys.has(entry.kid)) return keys.get(entry.kid);
  const algorithm = entry.alg === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
  const { kid, ...jwk } = entry.jwk;
  const key = await crypto.subtle.importKey('jwk', { ...jwk, ext: true }, algorithm, false, ['verify']);
  keys.set(entry.kid, key);
  return key;
}

/**
 * Check a scanned badge: {ok, reason, trainee_id, class_id, issued}. reason is one of
 * 'garbled' (not a badge), 'no_key' (nothing pulled yet), 'signature' (forged or damaged),
 * 'other_class' (a genuine badge of another class), or null when ok.
 */
export async function verifyBadge(token, classId) {
  let raw;
  try {
    raw = base64urlToBytes(String(token).trim());
  } catch {
    return { ok: false, reason: 'garbled' };
  }
  if (raw.length !== BODY + 64 || (raw[0] !== 1 && raw[0] !== 2)) return { ok: false, reason: 'garbled' };
  const claims = {
    trainee_id: bytesToUuid(raw.slice(1, 17)),
    class_id: bytesToUuid(raw.slice(17, 33)),
    issued: new Date(EPOCH_MS + ((raw[33] << 8) | raw[34]) * 86400000).toISOString().slice(0, 10),
  };
  const entries = (await listCached('badge_key')).filter((k) => k.token_version === raw[0]);
  if (!entries.length) return { ok: false, reason: 'no_key', ...claims };
  const body = raw.slice(0, BODY);
  const signature = raw.slice(BODY);
  for (const entry of entries) {
    const key = await importKey(entry);
    const algorithm = entry.alg === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
    if (await crypto.subtle.verify(algorithm, key, signature, body)) {
      if (claims.class_id !== classId) return { ok: false, reason: 'other_class', ...claims };
      return { ok: true, reason: null, ...claims };
    }
  }
  return { ok: false, reason: 'signature', ...claims };
}
