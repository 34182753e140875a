// GPS capture: one high-accuracy fix with its accuracy and the time it was taken.
import { t } from '../i18n.js';

/** An error whose code is a catalogue key and whose message is its words (never the browser's). */
function gpsError(code) {
  const error = new Error(t(code));
  error.code = code;
  return error;
}

/** Return {lat, lon, accuracy, captured_at, mocked} or throw with the browser's reason. */
export function getFix({ timeout = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(gpsError('gps.unsupported'));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => resolve({
        lat: Math.round(position.coords.latitude * 1e7) / 1e7,
        lon: Math.round(position.coords.longitude * 1e7) / 1e7,
        accuracy: Math.round(position.coords.accuracy * 10) / 10,
        captured_at: new Date(position.timestamp || Date.now()).toISOString(),
        // The web platform cannot tell a mock location; the server may flag it by other means.
        mocked: false,
      }),
      // GeolocationPositionError codes: 1 permission denied, 2 position unavailable, 3 timeout.
      (error) => reject(gpsError({ 1: 'gps.denied', 3: 'gps.timeout' }[error.code] || 'gps.unavailable')),
      { enableHighAccuracy: true, timeout, maximumAge: 0 },
    );
  });
}
