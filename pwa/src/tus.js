// A small tus 1.0.0 client: create, resume from HEAD, PATCH chunks with a SHA-256 checksum.
import { API, ApiError, request } from './api.js';
import { sha256Base64 } from './canonical.js';
import { updateMedia } from './db.js';

const CHUNK = 256 * 1024;
const TUS = { 'Tus-Resumable': '1.0.0' };

function b64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function fail(response) {
  const body = await response.json().catch(() => null);
  return new ApiError(response.status, body);
}

/** Return the server's offset of an upload, or null when it is gone (404/410). */
async function headOffset(url) {
  const response = await request(url, { method: 'HEAD', headers: TUS });
  if (response.status === 404 || response.status === 410) return null;
  if (!response.ok) throw await fail(response);
  return Number(response.headers.get('Upload-Offset'));
}

async function create(media) {
  const response = await request(`${API}/media/uploads`, {
    method: 'POST',
    headers: {
      ...TUS,
      'Upload-Length': String(media.bytes.byteLength),
      'Upload-Metadata': `sha256 ${b64(media.sha256)},mime ${b64(media.mime)}`,
    },
  });
  if (!response.ok) throw await fail(response);
  const url = new URL(response.headers.get('Location'), location.origin).href;
  const offset = Number(response.headers.get('Upload-Offset') || 0);
  await updateMedia(media.sha256, { upload_url: url, offset });
  return { url, offset };
}

/** Upload one file, resuming where the server stopped; onProgress(offset) after each chunk. */
export async function upload(media, onProgress = () => {}) {
  let url = media.upload_url;
  let offset = url ? await headOffset(url) : null;
  if (offset === null) ({ url, offset } = await create(media));
  const size = media.bytes.byteLength;
  while (offset < size) {
    const chunk = media.bytes.slice(offset, Math.min(size, offset + CHUNK));
    const response = await request(url, {
      method: 'PATCH',
      headers: {
        ...TUS,
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': String(offset),
        'Upload-Checksum': `sha256 ${await sha256Base64(chunk)}`,
      },
      body: chunk,
    });
    if (response.status === 409) {
      // Our offset is stale (an earlier PATCH landed but its answer was lost): ask again.
      offset = await headOffset(url);
      if (offset === null) throw new ApiError(410, { code: 'media.expired' });
      continue;
    }
    if (response.status === 404 || response.status === 410) {
      await updateMedia(media.sha256, { upload_url: null, offset: 0 });
      throw await fail(response);
    }
    if (!response.ok) throw await fail(response);
    offset = Number(response.headers.get('Upload-Offset'));
    await updateMedia(media.sha256, { offset });
    onProgress(offset);
  }
}
