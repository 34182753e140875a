// Scan QR codes with the camera: BarcodeDetector where it reads qr_code, else jsQR in a worker.
// A code is reported once while it stays in view; showing it again after it left counts anew.

const FRAME_MS = 120; // about 8 frames a second is plenty for a badge held up to the phone
const MAX_WIDTH = 800; // decode a downscaled frame: faster, and jsQR copes well at this size
const GONE_MS = 1200; // a code unseen this long has left the view

async function nativeDetector() {
  if (!('BarcodeDetector' in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (!formats.includes('qr_code')) return null;
    return new window.BarcodeDetector({ formats: ['qr_code'] });
  } catch {
    return null;
  }
}

function workerDecoder() {
  // Relative to the page (/app/), so it works from whichever chunk this module lands in.
  const worker = new Worker('capture/qr-worker.js', { type: 'module' });
  let serial = 0;
  const waiting = new Map();
  worker.addEventListener('message', (event) => {
    const resolve = waiting.get(event.data.id);
    waiting.delete(event.data.id);
    if (resolve) resolve(event.data.text);
  });
  return {
    engine: 'jsqr-worker',
    decode(imageData) {
      const id = ++serial;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        worker.postMessage({ id, width: imageData.width, height: imageData.height,
          buffer: imageData.data.buffer }, [imageData.data.buffer]);
      });
    },
    close() {
      worker.terminate();
      for (const resolve of waiting.values()) resolve(null);
      waiting.clear();
    },
  };
}

/** Return the decoder this browser will use: {engine, decode(source), close()}. */
export async function makeDecoder() {
  const detector = await nativeDetector();
  if (detector) {
    return {
      engine: 'barcode-detector',
      async decode(_imageData, canvas) {
        const codes = await detector.detect(canvas);
        return codes.length ? codes[0].rawValue : null;
      },
      close() {},
    };
  }
  return workerDecoder();
}

/**
 * Start the camera in `video` and call onCode(text) for each code shown.
 * Returns {stop(), pause(), resume(), engine}. Throws when there is no camera or permission is
 * refused. Paused, the camera keeps running (resuming is instant) but no frame is decoded.
 */
export async function startScanner(video, onCode) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false, video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 } } });
  video.srcObject = stream;
  video.setAttribute('playsinline', '');
  video.muted = true;
  await video.play();
  const decoder = await makeDecoder();
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let running = true;
  let paused = false;
  let last = { text: null, seen: 0 };
  let timer = null;

  async function tick() {
    if (!running) return;
    const started = performance.now();
    if (!paused && video.readyState >= 2 && video.videoWidth) {
      const scale = Math.min(1, MAX_WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const frame = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const text = await decoder.decode(frame, canvas);
      const now = performance.now();
      if (text && running && !paused) {
        const fresh = text !== last.text || now - last.seen > GONE_MS;
        last = { text, seen: now };
        if (fresh) onCode(text);
      }
    }
    timer = setTimeout(tick, Math.max(0, FRAME_MS - (performance.now() - started)));
  }
  tick();
  return {
    engine: decoder.engine,
    pause() {
      paused = true;
    },
    resume() {
      // The badge that caused the pause may still be held up: it counts again only once it
      // has left the view, as if it had been seen up to now.
      last = { text: last.text, seen: performance.now() };
      paused = false;
    },
    stop() {
      running = false;
      clearTimeout(timer);
      decoder.close();
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
    },
  };
}
