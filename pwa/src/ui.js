// Tiny DOM helpers: no framework, no inline script or style (the CSP forbids both).
import { t } from './i18n.js';

/** Create an element: h('button', {class, onclick, 'data-testid': ...}, ...children). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = !!value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's content. */
export function mount(root, ...children) {
  root.replaceChildren(...children.flat(Infinity).filter(Boolean));
}

let toastTimer = null;

/** Show a short message at the bottom of the screen (announced to screen readers). */
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 3500);
}

/** Hide the toast at once. */
export function hideToast() {
  document.getElementById('toast').classList.remove('show');
}

/** Say how long ago an ISO time was: '5 分钟'. */
export function formatAge(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return t('age.minutes', { n: minutes });
  if (minutes < 48 * 60) return t('age.hours', { n: Math.floor(minutes / 60) });
  return t('age.days', { n: Math.floor(minutes / 1440) });
}

/** Format metres for people: 850 米 / 1.2 km. */
export function formatDistance(m) {
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
}

/** A status pill for a check: 相符 / 不符 / 无法核验. */
export function statusPill(status) {
  return h('span', { class: `pill pill-${status}` }, t(`check.${status}`));
}

/**
 * Show a message that stays until the person closes it (a storage failure must not vanish
 * in 3.5 seconds). One per `key`: showing it again replaces the text.
 */
export function showLasting(key, message) {
  let box = document.querySelector(`[data-lasting="${key}"]`);
  if (!box) {
    box = h('div', { class: 'lasting', role: 'alert', 'data-testid': 'lasting-message', 'data-lasting': key });
    // Under the header bar, which stays on screen: never over the step buttons at the bottom.
    (document.getElementById('alerts') || document.body).append(box);
  }
  box.replaceChildren(h('p', {}, message),
    h('button', { type: 'button', class: 'small', onclick: () => box.remove() }, t('lasting.close')));
}

/** Remove a lasting message, if shown. */
export function clearLasting(key) {
  document.querySelector(`[data-lasting="${key}"]`)?.remove();
}
