// Offline login for the last users of this phone: a PBKDF2 verifier of the password made with
// WebCrypto at an online login and kept in IndexedDB. The password itself is never stored.
import { getMeta, setMeta } from './db.js';

const ITERATIONS = 210_000; // OWASP's figure for PBKDF2-HMAC-SHA256
const KEEP = 5; // the last users of a phone who may log in offline

function toBase64(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function derive(password, salt, iterations) {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false,
    ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256));
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

function keyOf(username) {
  return username.trim().toLowerCase();
}

/** After an online login: keep a verifier of this password and who the user is. */
export async function rememberAccount(username, password, auth) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const verifier = await derive(password, salt, ITERATIONS);
  const accounts = (await getMeta('accounts')) || {};
  accounts[keyOf(username)] = {
    user: auth.user, device_id: auth.device_id, device_key: auth.device_key || null,
    salt: toBase64(salt), verifier: toBase64(verifier), iterations: ITERATIONS,
    last_login: new Date().toISOString(),
  };
  const kept = Object.entries(accounts).sort(([, a], [, b]) => b.last_login.localeCompare(a.last_login))
    .slice(0, KEEP);
  await setMeta('accounts', Object.fromEntries(kept));
}

/** Offline: the account when this password matches its verifier, else null. */
export async function unlockOffline(username, password) {
  const account = ((await getMeta('accounts')) || {})[keyOf(username)];
  if (!account) return null;
  const derived = await derive(password, fromBase64(account.salt), account.iterations);
  return sameBytes(derived, fromBase64(account.verifier)) ? account : null;
}
