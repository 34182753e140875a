// Photo capture: downscale in the browser to at most 1600 px, JPEG, hash at capture.
import { sha256Hex } from '../canonical.js';
import { t } from '../i18n.js';
import { exifTakenAt } from './exif.js';

export const MAX_SIDE = 1600;

/**
 * Turn a camera/file input File into {bytes, sha256, mime, size, width, height, taken_at}:
 * taken_at is the original's EXIF capture time (null without one), read before re-encoding.
 */
export async function processPhoto(file, maxSide = MAX_SIDE) {
  const takenAt = await exifTakenAt(file);
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await new Promise((resolve, reject) => canvas.toBlob(
    (b) => (b ? resolve(b) : reject(new Error(t('photos.encode_failed')))), 'image/jpeg', 0.85));
  const bytes = await blob.arrayBuffer();
  return { bytes, sha256: await sha256Hex(bytes), mime: 'image/jpeg', size: bytes.byteLength,
    width, height, taken_at: takenAt };
}
