// My rooms (F-RS8): the account's rooms with their access data and copy buttons, start a
// meeting, who is in it now (refreshed while the page is visible), create/edit/delete,
// and a new invite link. Refusals appear next to the field they concern.
// Each room also shows its members with presence (issue 11, F-WB4): the owner and the
// moderators add, remove and promote them, and call everyone to the meeting.
// A room whose PIN is being guessed (issue 14) shows its owner until when PIN entry is
// locked, with a button that opens it again.

import { $, el } from './dom.js';
import { confirmDialog } from './dialogs.js';
import { t } from './i18n.js';
import { api } from './panel-api.js';
import { accessList, invitePath } from './panel-access.js';
import { config, fieldErrors, keepFresh, problemText, say, showError, zone } from './panel-common.js';
import { formatInstant } from './panel-time.js';
import { activitySection } from './panel-activity.js';
import { membersSection, dropMembers, reloadMembers } from './panel-members.js';

const REFRESH_MS = 10000;
const CODE_FIELDS = {
  'room.invalid_capacity': 'capacity',
  'room.invalid_name': 'name',
  'room.invalid_language': 'language',
};

const list = $('#rooms');
const dialog = $('#room-dialog');
const form = $('#room-form');
const errors = fieldErrors(form);
/** room id -> {node, key}: refreshes change only what changed. */
const cards = new Map();
let editing = null;

function isOwner(room) {
  return room.members !== undefined;
}

/** Everything the card shows except the live meeting. */
function staticKey(room) {
  const { meeting, ...rest } = room;
  return JSON.stringify(rest);
}

function meetingStatus(room, box) {
  const meeting = room.meeting || { running: false, participants: [] };
  const people = meeting.participants || [];
  box.classList.toggle('running', Boolean(meeting.running));
  const heading = meeting.running
    ? t('panel_meeting_running', { count: meeting.participant_count ?? people.length })
    : t('panel_meeting_idle');
  const items = people.map((p) =>
    el(
      'li',
      { dataset: { channel: p.channel } },
      p.display_name,
      ' ',
      el('span', { class: 'hint' }, `(${t(`panel_channel_${p.channel}`)})`),
    ),
  );
  box.replaceChildren(
    el('p', { class: 'meeting-state' }, heading),
    items.length ? el('ul', { class: 'meeting-people' }, ...items) : '',
  );
}

function settingsLine(room) {
  const parts = [
    t('panel_room_capacity_value', { count: room.capacity }),
    config.languages[room.language] || room.language,
  ];
  if (room.mute_on_entry) parts.push(t('panel_room_mute_on_entry'));
  if (!room.allow_self_unmute) parts.push(t('panel_room_no_self_unmute'));
  return parts.join(' · ');
}

/** "PIN entry is locked until ..." and the owner's button to unlock it; '' if not locked. */
function pinLockout(room) {
  if (!room.pin_locked_until) return '';
  const until = formatInstant(Date.parse(room.pin_locked_until), zone, config.lang);
  return el(
    'p',
    { class: 'notice-reason pin-locked', role: 'status' },
    t('panel_pin_locked', { time: until }),
    ' ',
    el('button', { type: 'button', class: 'button pin-unlock', onclick: () => unlockPin(room) },
      t('panel_pin_unlock')),
  );
}

async function unlockPin(room) {
  try {
    await api('DELETE', `/api/v1/rooms/${encodeURIComponent(room.id)}/pin-lockout`);
    say(t('panel_pin_unlocked', { name: room.name }));
    await load();
  } catch (error) {
    showError(problemText(error));
  }
}

function card(room) {
  const title = el('h2', { class: 'room-title' }, room.name);
  if (room.booked) title.append(el('span', { class: 'tag' }, t('panel_room_booked')));
  if (!isOwner(room)) title.append(el('span', { class: 'tag' }, t('panel_room_shared')));
  const status = el('div', { class: 'meeting-status', 'aria-live': 'polite' });
  meetingStatus(room, status);
  const actions = el(
    'p',
    { class: 'actions' },
    el('a', { class: 'button primary start', href: invitePath(room) }, t('panel_start_meeting')),
  );
  if (room.your_role === 'moderator') {
    actions.append(
      el('button', { type: 'button', class: 'button new-link', onclick: () => newLink(room) },
        t('panel_new_link')),
    );
  }
  if (isOwner(room)) {
    actions.append(
      el('button', { type: 'button', class: 'button edit', onclick: () => openForm(room) },
        t('panel_edit')),
      el('button', { type: 'button', class: 'button danger delete', onclick: () => remove(room) },
        t('panel_delete')),
    );
  }
  return el(
    'li',
    { class: 'panel-card room-card', dataset: { roomId: room.id } },
    title,
    el('p', { class: 'hint' }, settingsLine(room)),
    pinLockout(room),
    accessList(room),
    status,
    actions,
    membersSection(room),
    activitySection(room),
  );
}

function render(rooms) {
  $('#rooms-loading').hidden = true;
  $('#rooms-empty').hidden = rooms.length > 0;
  const seen = new Set();
  let previous = null;
  for (const room of rooms) {
    seen.add(room.id);
    const key = staticKey(room);
    let entry = cards.get(room.id);
    if (!entry || entry.key !== key) {
      const node = card(room);
      if (entry) entry.node.replaceWith(node);
      entry = { node, key };
      cards.set(room.id, entry);
    } else {
      meetingStatus(room, entry.node.querySelector('.meeting-status'));
    }
    const want = previous ? previous.nextSibling : list.firstChild;
    if (want !== entry.node) list.insertBefore(entry.node, want);
    previous = entry.node;
  }
  for (const [id, entry] of cards) {
    if (!seen.has(id)) {
      entry.node.remove();
      cards.delete(id);
      dropMembers(id);
    }
  }
}

async function load() {
  try {
    render(await api('GET', '/api/v1/rooms'));
    reloadMembers();
    showError('');
  } catch (error) {
    showError(problemText(error));
  }
}

function openForm(room = null) {
  editing = room;
  form.reset();
  errors.clear();
  $('#room-dialog-title').textContent = room ? t('panel_room_edit') : t('panel_room_new');
  form.name.value = room ? room.name : '';
  form.capacity.value = room ? String(room.capacity) : '';
  form.language.value = room ? room.language : config.lang;
  form.mute_on_entry.checked = room ? room.mute_on_entry : false;
  form.allow_self_unmute.checked = room ? room.allow_self_unmute : true;
  dialog.showModal();
  form.name.focus();
}

/** What the browser can tell before asking: an empty name, a capacity out of range. */
function check() {
  const name = form.name.value.trim();
  if (!name || name.length > config.max_room_name) {
    errors.set('name', t('panel_err_room_invalid_name', { max: config.max_room_name }));
    return null;
  }
  const body = {
    name,
    language: form.language.value,
    mute_on_entry: form.mute_on_entry.checked,
    allow_self_unmute: form.allow_self_unmute.checked,
  };
  const raw = form.capacity.value.trim();
  if (raw || form.capacity.validity.badInput) {
    const capacity = Number(raw);
    if (!Number.isInteger(capacity) || capacity < 2 || capacity > config.max_capacity) {
      errors.set('capacity', t('panel_err_room_invalid_capacity', { maximum: config.max_capacity }));
      return null;
    }
    body.capacity = capacity;
  }
  return body;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errors.clear();
  const body = check();
  if (!body) return;
  const save = $('#room-save');
  save.disabled = true;
  try {
    const room = editing
      ? await api('PATCH', `/api/v1/rooms/${encodeURIComponent(editing.id)}`, body)
      : await api('POST', '/api/v1/rooms', body);
    dialog.close();
    say(editing ? t('panel_saved') : t('panel_room_created', { name: room.name }));
    await load();
  } catch (error) {
    errors.refuse(error, CODE_FIELDS, { max: config.max_room_name });
  } finally {
    save.disabled = false;
  }
});

$('#room-cancel').addEventListener('click', () => dialog.close());
$('#room-new').addEventListener('click', () => openForm());

async function remove(room) {
  const ok = await confirmDialog(t('panel_room_delete_confirm', { name: room.name }), t('panel_delete'));
  if (!ok) return;
  try {
    await api('DELETE', `/api/v1/rooms/${encodeURIComponent(room.id)}`);
    say(t('panel_room_deleted', { name: room.name }));
    await load();
  } catch (error) {
    showError(problemText(error));
  }
}

async function newLink(room) {
  const ok = await confirmDialog(t('panel_new_link_confirm', { name: room.name }), t('panel_new_link'));
  if (!ok) return;
  try {
    await api('POST', `/api/v1/rooms/${encodeURIComponent(room.id)}/invite-link`);
    say(t('panel_new_link_done', { name: room.name }));
    await load();
  } catch (error) {
    showError(problemText(error));
  }
}

keepFresh(load, REFRESH_MS);
