// Reservations (F-RS7, F-RS8): the active ones and the ones ended within the hour, their
// invitees and notices, their room's access data; the booking form states the rules,
// reads times in the account's zone, checks what the browser can (against the server's
// clock) and shows every refusal next to the field it concerns.

import { $, el } from './dom.js';
import { confirmDialog } from './dialogs.js';
import { t } from './i18n.js';
import { api } from './panel-api.js';
import { accessList } from './panel-access.js';
import { reasonText } from './panel-reasons.js';
import {
  EMAIL,
  PHONE,
  cleanPhone,
  config,
  fieldErrors,
  keepFresh,
  problemText,
  say,
  serverNow,
  showError,
  splitList,
  zone,
} from './panel-common.js';
import { formatInstant, formatRange, instantToWall, isoWithOffset, wallToInstant } from './panel-time.js';

const MINUTE = 60000;
const REFRESH_MS = 30000;
const DAY = 24 * 60 * MINUTE;
const rules = config.rules;
const CODE_FIELDS = {
  'reservation.too_soon': 'start',
  'reservation.too_far': 'start',
  'reservation.already_started': 'start',
  'reservation.naive_time': 'start',
  'reservation.end_before_start': 'end',
  'reservation.too_long': 'end',
  'reservation.end_in_past': 'end',
};

const editor = $('#reservation-editor');
const form = $('#reservation-form');
const errors = fieldErrors(form);
let editing = null;
let me = null;

function ruleVars() {
  return {
    min_lead: rules.min_lead_minutes,
    max_lead: rules.max_lead_days,
    max_length: rules.max_length_days,
    max_active: rules.max_active,
    earliest: formatInstant(serverNow() + rules.min_lead_minutes * MINUTE, zone, config.lang),
    zone,
  };
}

function refusalText(error) {
  const problem = error.problem || {};
  if (error.code === 'reservation.invalid_invitee' && problem.value !== undefined) {
    const key = problem.field === 'invitee_phones' ? 'panel_err_invalid_phone' : 'panel_err_invalid_email';
    return t(key, { value: problem.value });
  }
  if (error.code === 'reservation.invalid_invitee') {
    return t('panel_err_generic', { detail: problem.detail || error.message });
  }
  return problemText(error, ruleVars());
}

// ------------------------------------------------------------------ the list

function noticeItem(notice) {
  const channel = t(`panel_notice_${notice.channel}`);
  const kindKey = `panel_notice_kind_${notice.kind}`;
  const kind = Object.hasOwn(config.texts, kindKey) ? t(kindKey) : notice.kind;
  const state = t(`panel_notice_state_${notice.state}`);
  const due = notice.due_at ? formatInstant(Date.parse(notice.due_at), zone, config.lang) : '';
  const item = el(
    'li',
    { class: `notice ${notice.state}`, dataset: { state: notice.state, channel: notice.channel } },
    el('span', {}, `${channel} · ${notice.recipient} · ${kind}${due ? ` · ${due}` : ''}`),
    ' ',
    el('span', { class: `tag state-${notice.state}` }, state),
  );
  if (notice.state === 'failed' || notice.state === 'skipped') {
    const reason = reasonText(notice.last_error);
    item.append(
      el('p', { class: 'notice-reason' }, t(`panel_notice_not_sent_${notice.channel}`, { reason })),
    );
  }
  return item;
}

function invitees(r) {
  const all = [...(r.invitee_emails || []), ...(r.invitee_phones || [])];
  return el(
    'p',
    { class: 'invitees' },
    el('strong', {}, `${t('panel_res_invitees')}: `),
    all.length ? all.join(', ') : t('panel_res_no_invitees'),
  );
}

function item(r, room) {
  const title = r.title || (room && room.name) || t('panel_res_untitled');
  const when = formatRange(r.start, r.end, zone, config.lang);
  const node = el(
    'li',
    { class: 'panel-card reservation-card', dataset: { reservationId: r.id, status: r.status } },
    el(
      'h2',
      { class: 'reservation-title' },
      title,
      el('span', { class: `tag status-${r.status}` }, t(`panel_res_status_${r.status}`)),
    ),
    el('p', { class: 'when' }, when),
    invitees(r),
  );
  const notices = r.notices || [];
  if (notices.length) {
    node.append(
      el('h3', {}, t('panel_res_notices_title')),
      el('ul', { class: 'notices' }, ...notices.map(noticeItem)),
    );
  }
  if (room) node.append(el('h3', {}, t('panel_res_access')), accessList(room));
  const actions = el('p', { class: 'actions' });
  if (r.status !== 'ended') {
    actions.append(
      el('button', { type: 'button', class: 'button edit', onclick: () => openForm(r) }, t('panel_edit')),
    );
  }
  actions.append(
    el('button', { type: 'button', class: 'button danger delete', onclick: () => remove(r, title, when) },
      t('panel_res_delete')),
  );
  node.append(actions);
  return node;
}

async function load() {
  try {
    const [reservations, rooms, account] = await Promise.all([
      api('GET', '/api/v1/reservations'),
      api('GET', '/api/v1/rooms'),
      api('GET', '/api/v1/me'),
    ]);
    me = account;
    smsHint(); // the form may have opened before the account arrived
    const byId = new Map(rooms.map((room) => [room.id, room]));
    reservations.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    $('#reservations-loading').hidden = true;
    $('#reservations-empty').hidden = reservations.length > 0;
    $('#reservations').replaceChildren(
      ...reservations.map((r) => item(r, r.room || byId.get(r.room_id))),
    );
    showError('');
  } catch (error) {
    showError(problemText(error));
  }
}

async function remove(r, title, when) {
  const ok = await confirmDialog(t('panel_res_delete_confirm', { title, when }), t('panel_res_delete'));
  if (!ok) return;
  try {
    await api('DELETE', `/api/v1/reservations/${encodeURIComponent(r.id)}`);
    say(t('panel_res_deleted', { title }));
    await load();
  } catch (error) {
    showError(problemText(error));
  }
}

// ------------------------------------------------------------------ the form

/** A start that passes the rules: the next quarter hour after the earliest start. */
function defaultStart() {
  const earliest = serverNow() + (rules.min_lead_minutes + 5) * MINUTE;
  const quarter = 15 * MINUTE;
  return Math.ceil(earliest / quarter) * quarter;
}

function smsHint() {
  const hint = $('#res-sms-left');
  const known = me && typeof me.sms_allowance === 'number';
  hint.hidden = !known;
  if (known) hint.textContent = t('panel_res_sms_left', { left: me.sms_left, allowance: me.sms_allowance });
}

function openForm(r = null) {
  editing = r;
  form.reset();
  errors.clear();
  $('#booked').hidden = true;
  $('#reservation-form-title').textContent = r ? t('panel_res_edit') : t('panel_res_new');
  $('#reservation-save').textContent = r ? t('panel_save') : t('panel_res_book');
  const vars = ruleVars();
  $('#reservation-rules').textContent = t('panel_res_rules', vars);
  $('#reservation-zone').textContent = t('panel_res_zone', vars);
  const start = r ? Date.parse(r.start) : defaultStart();
  const end = r ? Date.parse(r.end) : start + 60 * MINUTE;
  form.start.value = instantToWall(start, zone);
  form.end.value = instantToWall(end, zone);
  form.title.value = r ? r.title : '';
  // The language belongs to the new room; a booked room's language is edited in My rooms.
  $('#res-language-field').hidden = Boolean(r);
  if (!r) form.language.value = config.lang;
  form.invitee_emails.value = r ? (r.invitee_emails || []).join('\n') : '';
  form.invitee_phones.value = r ? (r.invitee_phones || []).join('\n') : '';
  form.notify_email.checked = r ? r.notify_email !== false : true;
  form.sms_at_booking.checked = r ? Boolean(r.sms_at_booking) : false;
  form.sms_reminder.checked = r ? Boolean(r.sms_reminder) : false;
  smsHint();
  editor.hidden = false;
  form.title.focus();
  editor.scrollIntoView({ block: 'start' });
}

function closeForm() {
  editor.hidden = true;
  editing = null;
}

/** The rules the browser can judge, against the server's clock; the server decides. */
function check() {
  const vars = ruleVars();
  const start = wallToInstant(form.start.value, zone);
  const end = wallToInstant(form.end.value, zone);
  if (start === null) return errors.set('start', t('panel_err_invalid_time'));
  if (end === null) return errors.set('end', t('panel_err_invalid_time'));
  const startMoved = !editing || start !== Date.parse(editing.start);
  const now = serverNow();
  if (startMoved && start < now + rules.min_lead_minutes * MINUTE) {
    return errors.set('start', t('panel_err_reservation_too_soon', vars));
  }
  if (startMoved && start > now + rules.max_lead_days * DAY) {
    return errors.set('start', t('panel_err_reservation_too_far', vars));
  }
  if (end <= start) return errors.set('end', t('panel_err_reservation_end_before_start', vars));
  if (end - start > rules.max_length_days * DAY) {
    return errors.set('end', t('panel_err_reservation_too_long', vars));
  }
  const emails = splitList(form.invitee_emails.value);
  const bad = emails.find((e) => !EMAIL.test(e));
  if (bad !== undefined) return errors.set('invitee_emails', t('panel_err_invalid_email', { value: bad }));
  const phones = splitList(form.invitee_phones.value);
  const badPhone = phones.find((p) => !PHONE.test(cleanPhone(p)));
  if (badPhone !== undefined) {
    return errors.set('invitee_phones', t('panel_err_invalid_phone', { value: badPhone }));
  }
  return {
    start: isoWithOffset(start, zone),
    end: isoWithOffset(end, zone),
    title: form.title.value.trim(),
    invitee_emails: emails,
    invitee_phones: phones.map(cleanPhone),
    notify_email: form.notify_email.checked,
    sms_at_booking: form.sms_at_booking.checked,
    sms_reminder: form.sms_reminder.checked,
    ...(editing ? {} : { language: form.language.value }),
  };
}

function showBooked(r) {
  const box = $('#booked');
  $('#booked-when').textContent = `${r.title ? `${r.title} · ` : ''}${formatRange(r.start, r.end, zone, config.lang)}`;
  accessList(r.room || {}, $('#booked-access'));
  box.hidden = false;
  box.focus();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errors.clear();
  const body = check();
  if (!body) return;
  const save = $('#reservation-save');
  save.disabled = true;
  try {
    if (editing) {
      await api('PATCH', `/api/v1/reservations/${encodeURIComponent(editing.id)}`, body);
      closeForm();
      say(t('panel_saved'));
    } else {
      const booked = await api('POST', '/api/v1/reservations', body);
      closeForm();
      showBooked(booked);
    }
    await load();
  } catch (error) {
    errors.set(
      error.problem && typeof error.problem.field === 'string'
        ? error.problem.field
        : CODE_FIELDS[error.code] || '',
      refusalText(error),
    );
  } finally {
    save.disabled = false;
  }
});

$('#reservation-new').addEventListener('click', () => openForm());
$('#reservation-cancel').addEventListener('click', closeForm);
$('#booked-close').addEventListener('click', () => {
  $('#booked').hidden = true;
});
editor.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeForm();
});

// Notices change state as the worker sends them: refresh while the page is visible
// (never under an open confirmation, whose buttons belong to a card).
keepFresh(load, REFRESH_MS, () => !$('#confirm-dialog').open);
