// Texts of the page language, sent by the server (confero.web.i18n); never guessed here.
// t() fills {placeholders} as plain text; callers put the result into textContent.

let texts = {};
let lang = 'en';
let plural = new Intl.PluralRules('en');

export function setupTexts(language, table) {
  lang = language;
  texts = table || {};
  plural = new Intl.PluralRules(language);
}

/** Error code -> text key, for the codes with a text of their own (the server's error
 * registry, confero.domain.errors; the room page's config carries it). */
let errorKeys = {};

export function setupErrors(table) {
  errorKeys = table || {};
}

/** The text key of a server `error` (its `text_key`, else the registry's), or ''. */
export function errorKey(error) {
  const payloadKey = error && error.payload && error.payload.text_key;
  const key = payloadKey || errorKeys[(error && error.code) || ''] || '';
  return key === 'err_generic' ? '' : key;
}

export function language() {
  return lang;
}

/** The text for `key`; with a numeric `count`, the plural form `key.<category>`. */
export function t(key, vars = {}) {
  let text = texts[key];
  if (typeof vars.count === 'number') {
    text = texts[`${key}.${plural.select(vars.count)}`] ?? texts[`${key}.other`] ?? text;
  }
  if (text === undefined) {
    console.warn('confero: no text for', key);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** A time of day in the page language ("15:36"), or the date too when not today. */
export function formatTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso ?? '');
  const today = new Date().toDateString() === when.toDateString();
  const options = today
    ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(lang, options).format(when);
}
