// Signature capture on a canvas (signature_pad); each stroke re-exports the PNG and its hash.
import SignaturePad from 'signature_pad';
import { sha256Hex } from '../canonical.js';
import { t } from '../i18n.js';

function pngBytes(canvas) {
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? blob.arrayBuffer().then(resolve, reject) : reject(new Error(t('sign.save_failed')))),
    'image/png'));
}

/**
 * Attach a signature pad to a canvas. `saved` ({points}) redraws an earlier signature;
 * onChange({points, png, sha256}) runs after each stroke, onChange(null) after clear().
 */
export function attachSignature(canvas, saved, onChange) {
  const ratio = Math.max(window.devicePixelRatio || 1, 1);
  const rect = canvas.getBoundingClientRect();
  canvas.width = Math.round((rect.width || 320) * ratio);
  canvas.height = Math.round((rect.height || 160) * ratio);
  canvas.getContext('2d').scale(ratio, ratio);
  const pad = new SignaturePad(canvas, { backgroundColor: 'rgb(255,255,255)', penColor: '#111' });
  if (saved?.points?.length) pad.fromData(saved.points);
  pad.addEventListener('endStroke', async () => {
    const png = await pngBytes(canvas);
    onChange({ points: pad.toData(), png, sha256: await sha256Hex(png) });
  });
  return {
    clear() {
      pad.clear();
      onChange(null);
    },
    destroy() {
      pad.off();
    },
  };
}
