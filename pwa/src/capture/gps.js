// GPS capture: one high-accuracy fix with its accuracy and the time it was taken.

/** Return {lat, lon, accuracy, captured_at, mocked} or throw with the browser's reason. */
export function getFix({ timeout = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error('geolocation unavailable'));
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
      (error) => reject(new Error(error.message || `code ${error.code}`)),
      { enableHighAccuracy: true, timeout, maximumAge: 0 },
    );
  });
}
