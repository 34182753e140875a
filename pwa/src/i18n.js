// The language switch: Chinese by default, English by ?lang=en or the header switch.
import { MESSAGES } from './messages.js';

const KEY = 'spotcheck-lang';
let lang = 'zh';

/** Pick the language from ?lang=, then the saved choice, then Chinese. */
export function initLanguage() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked && MESSAGES[asked]) localStorage.setItem(KEY, asked);
  const saved = localStorage.getItem(KEY);
  lang = MESSAGES[saved] ? saved : 'zh';
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  return lang;
}

export function currentLanguage() {
  return lang;
}

/** Switch between Chinese and English and remember it. */
export function toggleLanguage() {
  localStorage.setItem(KEY, lang === 'zh' ? 'en' : 'zh');
  return initLanguage();
}

/** Return the message for key, with {name} placeholders filled in. */
export function t(key, values = {}) {
  const text = MESSAGES[lang][key] ?? MESSAGES.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (values[name] ?? `{${name}}`));
}

/** Return words for people for any error: a server code, a browser refusal, a lost network. */
export function describeError(error) {
  const code = error?.code;
  if (typeof code === 'string' && MESSAGES.zh[`error.${code}`]) return t(`error.${code}`);
  if (typeof code === 'string' && MESSAGES.zh[code]) return t(code); // e.g. gps.denied
  const camera = { NotAllowedError: 'camera.denied', SecurityError: 'camera.denied',
    NotFoundError: 'camera.missing', OverconstrainedError: 'camera.missing',
    NotReadableError: 'camera.busy', AbortError: 'camera.failed' }[error?.name];
  if (camera) return t(camera);
  if (error?.name === 'QuotaExceededError' || error?.name === 'InvalidStateError') return t('error.storage');
  // A server answer with a code the phone has no words for: the server worded it in our language.
  if (error?.status && error.body?.message) return error.body.message;
  return t('error.unknown');
}
