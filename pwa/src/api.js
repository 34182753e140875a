// Talk to the sync server: bearer token, JSON, the server's one error shape.
export const API = '/api/v1';
let token = null;

export function setToken(value) {
  token = value;
}

export function hasToken() {
  return !!token;
}

/** An error answer from the server ({code, message}), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || (status === 0 ? 'network' : 'http');
    this.body = body;
  }
}

/** Fetch with the token and a timeout; network failures become ApiError(0). */
export async function request(url, { method = 'GET', headers = {}, body, timeout = 30000 } = {}) {
  const all = { ...headers };
  if (token) all.Authorization = `Bearer ${token}`;
  try {
    return await fetch(url, { method, headers: all, body, signal: AbortSignal.timeout(timeout),
      cache: 'no-store' });
  } catch (error) {
    throw new ApiError(0, { code: 'network', message: error.message });
  }
}

/** Call a JSON API endpoint and return its JSON body; errors throw ApiError. */
export async function api(path, { method = 'GET', json } = {}) {
  const response = await request(`${API}${path}`, {
    method,
    headers: json === undefined ? { Accept: 'application/json' }
      : { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
