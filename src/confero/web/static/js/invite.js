// The Invite dialog (F-WB6, seed 002 "Person einladen"): everyone copies the link, the
// dial-in number, the conference number and the PIN (never the admin PIN); a signed-in
// member sends the invitation by mail (POST /api/v1/rooms/{id}/invitations, a calendar
// entry for now); a moderator calls a phone number into the meeting (the keypad's *8,
// the command `invite`; the server's `invite_failed` event says when it did not connect).

import { toast } from './dialogs.js';
import { $ } from './dom.js';
import { errorKey, t } from './i18n.js';

const COPIED_MS = 2000;
/** What people type between the digits of a phone number. */
const NUMBER_SEPARATORS = /[\s\-().\/]/g;

/**
 * @param {object} actions
 * @param {(number: string) => Promise<unknown>} actions.call the `invite` command
 */
export function setupInvite(actions) {
  const dialog = $('#invite-dialog');
  $('#invite-open').addEventListener('click', () => open(dialog));
  $('#call-open').addEventListener('click', () => {
    open(dialog);
    $('#invite-number').focus();
  });
  dialog.addEventListener('click', (event) => {
    const button = event.target.closest('button.copy');
    if (button) copy(button);
  });
  const mail = $('#invite-mail-form');
  if (mail) {
    mail.addEventListener('submit', (event) => {
      event.preventDefault();
      sendMail(mail.dataset.roomId);
    });
  }
  $('#invite-call-form').addEventListener('submit', (event) => {
    event.preventDefault();
    callNumber(actions.call);
  });
}

function open(dialog) {
  say('#invite-copy-status', '', 'ok');
  if (!dialog.open) dialog.showModal();
}

/** A message next to a field: `ok` or `error`. */
function say(id, text, kind) {
  const node = $(id);
  if (!node) return;
  node.textContent = text;
  node.classList.toggle('ok', kind === 'ok');
  node.classList.toggle('error', kind === 'error');
  node.hidden = !text;
}

// ---------------------------------------------------------------- copy
async function copy(button) {
  const input = $(button.dataset.copy);
  if (!input) return;
  let done = false;
  try {
    await navigator.clipboard.writeText(input.value);
    done = true;
  } catch {
    // No clipboard API (plain http on another host): the old way, on the selected text.
    input.select();
    try {
      done = document.execCommand('copy');
    } catch {
      done = false;
    }
  }
  if (!done) {
    input.select();
    say('#invite-copy-status', t('invite_copy_failed'), 'error');
    return;
  }
  say('#invite-copy-status', '', 'ok');
  const labelNode = button.querySelector('.label');
  labelNode.textContent = t('invite_copied');
  button.classList.add('copied');
  setTimeout(() => {
    labelNode.textContent = t('invite_copy');
    button.classList.remove('copied');
  }, COPIED_MS);
}

// ---------------------------------------------------------------- mail
/** Addresses as typed: separated by commas, semicolons, spaces or new lines. */
function addresses(text) {
  return text.split(/[\s,;]+/).filter(Boolean);
}

async function sendMail(roomId) {
  const input = $('#invite-emails');
  const emails = addresses(input.value);
  if (emails.length === 0) {
    say('#invite-mail-status', t('invite_mail_empty'), 'error');
    input.focus();
    return;
  }
  const button = $('#invite-mail-send');
  button.disabled = true;
  try {
    const response = await fetch(`/api/v1/rooms/${encodeURIComponent(roomId)}/invitations`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ emails }),
    });
    if (response.ok) {
      say('#invite-mail-status', t('invite_mail_sent', { emails: emails.join(', ') }), 'ok');
      input.value = '';
      return;
    }
    const problem = await response.json().catch(() => ({}));
    say('#invite-mail-status', mailRefusal(response.status, problem), 'error');
    input.focus();
  } catch (error) {
    say('#invite-mail-status', t('invite_mail_failed', { detail: error.message || 'network' }), 'error');
  } finally {
    button.disabled = false;
  }
}

/** A refused invitation in words: the sending limit in the mail's own terms, else the
 * registry's text for the code (errorKey), else the server's detail. */
function mailRefusal(status, problem) {
  if (status === 429) return t('invite_mail_rate_limited');
  if (status === 401) return t('invite_mail_failed', { detail: t('signin') });
  const key = errorKey({ code: problem.code || '' });
  if (key) return t(key, { value: problem.value ?? '', ...problem });
  return t('invite_mail_failed', { detail: problem.detail || problem.code || String(status) });
}

// ---------------------------------------------------------------- phone
/** Numbers whose `invite_failed` arrived while their command was still unanswered: the
 * server may tell the failure (no trunk) before it answers the command itself. */
const failedEarly = new Set();

async function callNumber(call) {
  const input = $('#invite-number');
  const number = input.value.replace(NUMBER_SEPARATORS, '');
  if (!number) {
    say('#invite-call-status', t('invite_call_invalid'), 'error');
    input.focus();
    return;
  }
  const button = $('#invite-call');
  button.disabled = true;
  failedEarly.delete(number);
  try {
    await call(number);
    if (!failedEarly.delete(number)) say('#invite-call-status', t('invite_calling', { number }), 'ok');
    input.value = '';
  } catch (error) {
    say('#invite-call-status', callRefusal(error), 'error');
    input.focus();
  } finally {
    button.disabled = false;
  }
}

function callRefusal(error) {
  const key = errorKey(error);
  return key ? t(key) : t('err_generic', { detail: error.detail || error.code });
}

/** The server's `invite_failed` event: the call we asked for did not connect. */
export function inviteFailed(message) {
  if (message.number) failedEarly.add(message.number);
  const text = t('invite_call_failed', { number: message.number ?? '' });
  say('#invite-call-status', text, 'error');
  toast(text, 'error');
}
