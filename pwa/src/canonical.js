// The seal: SHA-256 over canonical JSON (keys sorted, no whitespace, UTF-8, non-ASCII kept).
// Must give the same bytes as the server's canonicaliser (Python json.dumps with
// sort_keys=True, separators=(",", ":"), ensure_ascii=False).

/** Serialise a JSON value canonically. */
export function canonicalJSON(value) {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('non-finite number in sealed data');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJSON(item))).join(',')}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(value[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot seal a ${typeof value}`);
}

/** Return the lowercase hex SHA-256 of bytes or of a string's UTF-8. */
export async function sha256Hex(data) {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Return the base64 SHA-256 of bytes (tus Upload-Checksum). */
export async function sha256Base64(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return btoa(String.fromCharCode(...digest));
}

/** Return the seal of a payload: it is computed over everything but `seal` itself. */
export async function sealOf(payload) {
  const { seal, ...rest } = payload;
  return sha256Hex(canonicalJSON(rest));
}
