// Rotating self sign-in codes, made offline: HMAC-SHA256 with the device key from login over
// version(1)=2 | class uuid(16) | visit uuid(16) | window(4, BE) | device id length(1) | device id,
// keeping the first 16 bytes of the MAC. window = floor(unix seconds / 30). The server checks
// the same bytes (server/services/selfsignin.py) and accepts the current window ±1.

export const WINDOW_SECONDS = 30;
const PREFIX = new TextEncoder().encode('spotcheck-self-signin');

function uuidBytes(uuid) {
  const hex = uuid.replace(/-/g, '');
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

function base64url(bytes) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function windowOf(ms) {
  return Math.floor(ms / 1000 / WINDOW_SECONDS);
}

const keyCache = new Map();

async function hmacKey(deviceKey) {
  if (!keyCache.has(deviceKey)) {
    keyCache.set(deviceKey, await crypto.subtle.importKey(
      'raw', new TextEncoder().encode(deviceKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
  }
  return keyCache.get(deviceKey);
}

/** Make the code for one visit at time `ms` (default now). */
export async function makeSelfCode({ deviceKey, deviceId, classId, visitId, ms = Date.now() }) {
  const device = new TextEncoder().encode(deviceId);
  const body = new Uint8Array(38 + device.length);
  body[0] = 2;
  body.set(uuidBytes(classId), 1);
  body.set(uuidBytes(visitId), 17);
  new DataView(body.buffer).setUint32(33, windowOf(ms));
  body[37] = device.length;
  body.set(device, 38);
  const message = new Uint8Array(PREFIX.length + body.length);
  message.set(PREFIX);
  message.set(body, PREFIX.length);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(deviceKey), message));
  const code = new Uint8Array(body.length + 16);
  code.set(body);
  code.set(mac.slice(0, 16), body.length);
  return base64url(code);
}

/** The address a trainee's phone opens: this server's /s/<code>. */
export function selfSigninUrl(code) {
  return `${location.origin}/s/${code}`;
}
