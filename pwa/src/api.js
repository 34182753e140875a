// Talk to the sync server: bearer token, JSON, the server's one error shape.
import { currentLanguage, describeError } from './i18n.js';

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
    super('');
    this.status = status;
    this.code = body?.code || (status === 0 ? 'network' : 'http');
    this.body = body;
    // People's words: the phone's catalogue for the code, else the server's (worded in our language).
    this.message = describeError(this);
  }
}

/** Fetch with the token and a timeout; network failures become ApiError(0). */
export async function request(url, { method = 'GET', headers = {}, body, timeout = 30000 } = {}) {
  // The server words its `message` fields in the language the phone shows.
  const all = { 'Accept-Language': currentLanguage() === 'en' ? 'en' : 'zh-CN', ...headers };
  if (token) all.Authorization = `Bearer ${token}`;
  try {
    return await fetch(url, { method, headers: all, body, signal: AbortSignal.timeout(timeout),
      cache: 'no-store' });
  } catch (error) {
    throw new ApiError(0, { code: 'network' });
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
