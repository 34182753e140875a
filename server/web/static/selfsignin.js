// Self sign-in form on a trainee's phone: signature on a canvas, location from the browser.
// A static file because the CSP forbids inline script; messages come from data- attributes.
(function () {
  "use strict";
  const form = document.getElementById("selfsignin-form");
  if (!form) return;
  const canvas = document.getElementById("signature-pad");
  const ctx = canvas.getContext("2d");
  const status = document.getElementById("geo-status");
  const sigError = document.getElementById("signature-error");
  let strokes = 0;
  let drawing = false;
  let located = null; // resolves when the location attempt has ended, either way

  function resizeCanvas() {
    // Draw at device resolution so the stored signature is sharp.
    const ratio = window.devicePixelRatio || 1;
    const rect = canvas.getBoundingClientRect();
    canvas.width = Math.round(rect.width * ratio);
    canvas.height = Math.round(rect.height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, rect.width, rect.height);
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    strokes = 0;
  }

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const p = point(event);
    ctx.beginPath();
    ctx.moveTo(p.x, p.y);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const p = point(event);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
  });
  const end = () => {
    if (drawing) strokes += 1;
    drawing = false;
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  document.getElementById("signature-clear").addEventListener("click", resizeCanvas);

  function locate() {
    located = new Promise((resolve) => {
      if (!("geolocation" in navigator)) {
        document.getElementById("geo-error").value = "unsupported";
        status.textContent = form.dataset.msgNoLocation;
        resolve();
        return;
      }
      navigator.geolocation.getCurrentPosition(
        (pos) => {
          document.getElementById("geo-lat").value = String(pos.coords.latitude);
          document.getElementById("geo-lon").value = String(pos.coords.longitude);
          document.getElementById("geo-accuracy").value = String(Math.round(pos.coords.accuracy));
          status.textContent = form.dataset.msgLocated.replace("{accuracy}", Math.round(pos.coords.accuracy));
          resolve();
        },
        (err) => {
          document.getElementById("geo-error").value = String(err.code);
          status.textContent = form.dataset.msgNoLocation;
          resolve();
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 },
      );
    });
  }

  let submitting = false;
  form.addEventListener("submit", (event) => {
    if (submitting) return;
    event.preventDefault();
    if (strokes === 0) {
      sigError.textContent = form.dataset.msgNeedSignature;
      sigError.hidden = false;
      return;
    }
    sigError.hidden = true;
    document.getElementById("signature-data").value = canvas.toDataURL("image/png");
    // Wait for the location attempt to end, then submit for real: in a new task, because a
    // form ignores requestSubmit() while its submit event is still being dispatched, and
    // without a second submit event (the form was validated already).
    located.then(() => setTimeout(() => {
      submitting = true;
      HTMLFormElement.prototype.submit.call(form);
    }, 0));
  });

  resizeCanvas();
  locate();
})();
