// Confirmation dialog, toasts, and the two banners: #error (what went wrong) and
// #connection ("cannot connect, trying again").

import { $ } from './dom.js';

/** Ask before something that cannot be undone; resolves true on OK. */
export function confirmDialog(text, okLabel) {
  const dialog = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    const closed = () => {
      dialog.removeEventListener('close', closed);
      resolve(dialog.returnValue === 'ok');
    };
    dialog.returnValue = '';
    dialog.addEventListener('close', closed);
    if (dialog.open) dialog.close();
    dialog.showModal();
    $('#confirm-cancel').focus();
  });
}

export function closeDialogs() {
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
}

const TOAST_MS = 5000;

/** A short notice that goes away by itself. */
export function toast(text, kind = 'info') {
  const box = $('#toasts');
  const note = document.createElement('div');
  note.className = `toast ${kind}`;
  note.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  note.textContent = text;
  box.append(note);
  setTimeout(() => note.remove(), TOAST_MS);
  while (box.children.length > 4) box.firstElementChild.remove();
}

export function showError(text) {
  const node = $('#error');
  node.textContent = text;
  node.hidden = !text;
}

export function clearError() {
  showError('');
}

export function showConnection(text) {
  const node = $('#connection');
  node.textContent = text || '';
  node.hidden = !text;
}
