// Copy buttons (F-RS8): the Clipboard API where the page may use it, a hidden textarea
// and execCommand('copy') where not; the button says "Copied" for a moment.

import { el, label } from './dom.js';
import { t } from './i18n.js';

export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied or unavailable: try the old way below.
  }
  const area = el('textarea', { class: 'copy-buffer', readonly: true, 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand('copy');
  } catch {
    done = false;
  }
  area.remove();
  return done;
}

const RESET_MS = 2500;

/** A "Copy" button for `value`; `what` names it for screen readers ("Copy PIN"). */
export function copyButton(value, what) {
  const button = el('button', { type: 'button', class: 'button small copy' }, t('panel_copy'));
  label(button, t('panel_copy_label', { what }));
  let timer = null;
  button.addEventListener('click', async () => {
    const done = await copyText(String(value));
    button.textContent = done ? t('panel_copied') : t('panel_copy_failed');
    button.classList.toggle('copied', done);
    button.dataset.state = done ? 'copied' : 'failed';
    const status = document.getElementById('panel-status');
    if (status) status.textContent = done ? `${what}: ${t('panel_copied')}` : t('panel_copy_failed');
    clearTimeout(timer);
    timer = setTimeout(() => {
      button.textContent = t('panel_copy');
      button.classList.remove('copied');
      delete button.dataset.state;
    }, RESET_MS);
  });
  return button;
}
