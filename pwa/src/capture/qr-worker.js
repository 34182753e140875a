// QR decoding off the main thread with jsQR, for browsers whose BarcodeDetector cannot read QR
// codes (Linux Chromium has no backend). One message in: a frame's RGBA pixels; one out: text.
import jsQR from 'jsqr';

self.addEventListener('message', (event) => {
  const { id, width, height, buffer } = event.data;
  let text = null;
  try {
    const found = jsQR(new Uint8ClampedArray(buffer), width, height, { inversionAttempts: 'attemptBoth' });
    text = found ? found.data : null;
  } catch {
    text = null; // a frame that cannot be read is just a frame without a code
  }
  self.postMessage({ id, text });
});
