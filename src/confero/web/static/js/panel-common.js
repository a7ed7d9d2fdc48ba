// What every panel page shares: its configuration and texts, the server's clock, the
// sign-out button, refusals mapped to text in the page's language and placed next to
// the field they concern, and a short status line.

import { $ } from './dom.js';
import { errorKey, setupErrors, setupTexts, t } from './i18n.js';
import './panel-signout.js';
import { safeZone } from './panel-time.js';

export const config = JSON.parse($('#confero-config').textContent);
setupTexts(config.lang, config.texts);
setupErrors(config.errors);

export const zone = safeZone(config.account.time_zone || 'UTC');

// The booking rules count from the server's clock; the browser's may be off (or, in
// the tests, a day apart), so keep the difference seen when the page was made.
const skew = Date.parse(config.now) - Date.now();

export function serverNow() {
  return Date.now() + skew;
}

export function hasText(key) {
  return Object.hasOwn(config.texts, key);
}

/** A refusal in words: the text the server's error registry names for its code, else
 * the generic text with the server's detail. `vars` fill placeholders besides the
 * problem's own context. */
export function problemText(error, vars = {}) {
  if (!error || error.status === 0) return t('panel_err_network');
  const problem = error.problem || {};
  const key = errorKey(error);
  if (key && hasText(key)) return t(key, { ...problem, ...vars });
  return t('panel_err_generic', { detail: problem.detail || error.message });
}

/** The form field a refusal concerns: the problem's `field`, the page's own map from
 * code to field, or the first field of a request.invalid; '' for the whole form. */
export function problemField(error, codeFields = {}) {
  const problem = (error && error.problem) || {};
  if (typeof problem.field === 'string') return problem.field;
  if (error && codeFields[error.code]) return codeFields[error.code];
  if (error && error.code === 'request.invalid' && Array.isArray(problem.errors)) {
    const loc = problem.errors[0] && problem.errors[0].loc;
    if (Array.isArray(loc) && loc[0] === 'body' && loc[1]) return String(loc[1]);
  }
  return '';
}

/** Messages next to the fields of one form (slots marked `data-error-for`). */
export function fieldErrors(form) {
  const slots = () => form.querySelectorAll('[data-error-for]');
  return {
    clear() {
      for (const slot of slots()) {
        slot.textContent = '';
        slot.hidden = true;
        slot.removeAttribute('role');
      }
      for (const input of form.querySelectorAll('[aria-invalid]')) {
        input.removeAttribute('aria-invalid');
      }
    },
    /** Show `text` next to `field` (or for the whole form) and move focus there. */
    set(field, text) {
      const slot =
        (field && form.querySelector(`[data-error-for="${CSS.escape(field)}"]`)) ||
        form.querySelector('[data-error-for=""]');
      slot.textContent = text;
      slot.hidden = false;
      slot.setAttribute('role', 'alert');
      const input = field ? form.elements.namedItem(field) : null;
      if (input instanceof HTMLElement && slot.dataset.errorFor === field) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    },
    /** Place an API refusal: next to its field if the form has one, else on the form. */
    refuse(error, codeFields = {}, vars = {}) {
      this.set(problemField(error, codeFields), problemText(error, vars));
    },
  };
}

/** Load the page's list now, every `everyMs` while the page is visible (and `ready()`
 * allows), and again whenever it becomes visible. */
export function keepFresh(load, everyMs, ready = () => true) {
  setInterval(() => {
    if (document.visibilityState === 'visible' && ready()) load();
  }, everyMs);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') load();
  });
  load();
}

let statusTimer = null;

/** A short note in the status line ("Saved."), read out by screen readers. */
export function say(text) {
  const node = $('#panel-status');
  node.textContent = text;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => {
    node.textContent = '';
  }, 6000);
}

export function showError(text) {
  const node = $('#error');
  node.textContent = text || '';
  node.hidden = !text;
}

/** Close buttons marked `data-close` close their dialog. */
for (const button of document.querySelectorAll('dialog [data-close]')) {
  button.addEventListener('click', () => button.closest('dialog').close());
}

/** Split "a@x.org, b@y.org\nc@z.org" into entries. */
export function splitList(text) {
  return String(text || '')
    .split(/[\n,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const PHONE = /^\+?[0-9]{6,15}$/;

export function cleanPhone(value) {
  return String(value).replace(/[\s\-()]/g, '');
}
