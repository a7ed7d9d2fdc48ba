// A room's members on the rooms page (issue 11, F-WB4): who they are, with a presence dot
// that follows the people socket; the owner and the moderators add members (e-mail or
// name, with the server's directory as suggestions), remove them, give or take the
// moderator role, and "Call everyone to the meeting" after a confirmation. The server
// decides who may do what; the page only hides what it would refuse.

import { confirmDialog } from './dialogs.js';
import { el, icon, initials, label } from './dom.js';
import { t } from './i18n.js';
import { api } from './panel-api.js';
import { EMAIL, config, problemText, say, showError } from './panel-common.js';
import { gather, peopleErrorText, peopleSocket } from './people.js';

const SUGGEST_DELAY_MS = 250;
const MIN_QUERY = 2;
const PRESENCE_TEXT = { online: 'people_online', busy: 'people_busy', offline: 'people_offline' };

/** room id -> {room, node, list, members, ...}: one section per room, kept across the
 * card's rebuilds so a half-typed name survives a refresh. */
const sections = new Map();

function mayManage(room) {
  return room.your_role === 'moderator';
}

function membersPath(room, accountId = '') {
  const base = `/api/v1/rooms/${encodeURIComponent(room.id)}/members`;
  return accountId ? `${base}/${encodeURIComponent(accountId)}` : base;
}

function presenceDot(presence) {
  const value = PRESENCE_TEXT[presence] ? presence : 'offline';
  const text = t(PRESENCE_TEXT[value]);
  return el('span', { class: 'presence', dataset: { presence: value }, role: 'img', 'aria-label': text, title: text });
}

function roleText(member) {
  if (member.is_owner) return t('member_owner');
  return member.role === 'moderator' ? t('member_moderator') : t('member_participant');
}

function memberRow(entry, member) {
  const name = member.display_name || member.email;
  const row = el(
    'li',
    { class: 'member', dataset: { accountId: member.account_id, role: member.role, presence: member.presence || 'offline' } },
    el('span', { class: 'avatar small', 'aria-hidden': 'true' }, initials(name), presenceDot(member.presence)),
    el(
      'span',
      { class: 'contact-who' },
      el('span', { class: 'member-name' }, name),
      el('span', { class: 'tag member-role-tag' }, roleText(member)),
    ),
  );
  if (mayManage(entry.room) && !member.is_owner) {
    const promote = member.role !== 'moderator';
    const role = el(
      'button',
      { type: 'button', class: 'button small member-role' },
      promote ? t('member_make_moderator') : t('member_make_participant'),
    );
    label(role, t(promote ? 'member_make_moderator_label' : 'member_make_participant_label', { name }));
    role.addEventListener('click', () => setRole(entry, member, promote ? 'moderator' : 'participant'));
    const remove = el('button', { type: 'button', class: 'icon-button member-remove' }, icon('user-x'));
    label(remove, t('member_remove_label', { name }));
    remove.addEventListener('click', () => removeMember(entry, member));
    row.append(el('span', { class: 'contact-actions' }, role, remove));
  }
  return row;
}

function renderEntry(entry) {
  const { room } = entry;
  const manage = mayManage(room);
  const members = entry.members || [];
  entry.list.replaceChildren(...members.map((m) => memberRow(entry, m)));
  entry.empty.hidden = entry.members === null || members.some((m) => !m.is_owner);
  entry.form.hidden = !manage;
  // Someone besides oneself to call: the server counts again (and checks the role).
  entry.callEveryone.hidden = !manage || !members.some((m) => m.account_id !== entry.me);
}

function build(room) {
  const id = `members-${room.id}`;
  const listId = `member-suggest-${room.id}`;
  const entry = {
    room,
    me: config.account.id,
    members: null,
    suggestTimer: null,
    list: el('ul', { class: 'member-list', 'aria-labelledby': `${id}-title` }),
    empty: el('p', { class: 'hint' }, t('member_none')),
    suggestions: el('datalist', { id: listId }),
    input: el('input', {
      class: 'member-add-input',
      type: 'text',
      name: 'member',
      autocomplete: 'off',
      maxlength: 320,
      list: listId,
      placeholder: t('member_add_placeholder'),
      'aria-label': t('member_add_label', { room: room.name }),
    }),
    error: el('p', { class: 'field-error', role: 'alert', hidden: true }),
    callEveryone: el(
      'button',
      { type: 'button', class: 'button small room-call-everyone', hidden: true },
      icon('users'),
      ' ',
      t('call_everyone'),
    ),
  };
  entry.form = el(
    'form',
    { class: 'member-add-form send-row', novalidate: true },
    entry.input,
    entry.suggestions,
    el('button', { type: 'submit', class: 'button small member-add' }, icon('user-plus'), ' ', t('member_add')),
  );
  entry.node = el(
    'section',
    { class: 'room-members', dataset: { roomId: room.id } },
    el('h3', { id: `${id}-title` }, t('member_title')),
    entry.list,
    entry.empty,
    entry.form,
    entry.error,
    el('p', { class: 'actions' }, entry.callEveryone),
  );
  entry.form.addEventListener('submit', (event) => {
    event.preventDefault();
    addMember(entry);
  });
  entry.input.addEventListener('input', () => {
    entry.error.hidden = true;
    clearTimeout(entry.suggestTimer);
    const q = entry.input.value.trim();
    if (q.length >= MIN_QUERY && !EMAIL.test(q)) {
      entry.suggestTimer = setTimeout(() => suggest(entry, q), SUGGEST_DELAY_MS);
    }
  });
  entry.callEveryone.addEventListener('click', () => callEveryone(entry));
  return entry;
}

/** The section of `room`'s card: made once, then moved into each rebuilt card. */
export function membersSection(room) {
  let entry = sections.get(room.id);
  if (!entry) {
    entry = build(room);
    sections.set(room.id, entry);
  }
  entry.room = room;
  renderEntry(entry);
  return entry.node;
}

export function dropMembers(roomId) {
  sections.delete(roomId);
}

async function loadMembers(entry) {
  try {
    entry.members = await api('GET', membersPath(entry.room));
    renderEntry(entry);
  } catch (error) {
    if (error.status !== 404) showError(problemText(error));
  }
}

/** Load every room's members again (the page's refresh, a membership change). */
export function reloadMembers() {
  for (const entry of sections.values()) loadMembers(entry);
}

function showFieldError(entry, text) {
  entry.error.textContent = text;
  entry.error.hidden = !text;
  if (text) {
    entry.input.setAttribute('aria-invalid', 'true');
    entry.input.focus();
  } else {
    entry.input.removeAttribute('aria-invalid');
  }
}

async function directory(q) {
  const found = await api('GET', `/api/v1/directory?q=${encodeURIComponent(q)}`);
  return Array.isArray(found) ? found : [];
}

async function suggest(entry, q) {
  try {
    const people = await directory(q);
    if (entry.input.value.trim() !== q) return;
    entry.suggestions.replaceChildren(
      ...people.map((p) => el('option', { value: p.email, label: p.display_name || p.email })),
    );
  } catch {
    /* suggestions only: typing the e-mail still works */
  }
}

/** An e-mail as typed, or the one account whose name (or e-mail) matches. */
async function resolveEmail(entry, value) {
  if (EMAIL.test(value)) return value;
  if (value.length < MIN_QUERY) throw new Error(t('member_add_unknown', { value }));
  const people = await directory(value);
  const lower = value.toLowerCase();
  const exact = people.filter((p) => (p.display_name || '').toLowerCase() === lower);
  const pick = exact.length === 1 ? exact[0] : people.length === 1 ? people[0] : null;
  if (pick) return pick.email;
  throw new Error(t(people.length ? 'member_add_ambiguous' : 'member_add_unknown', { value }));
}

async function addMember(entry) {
  const value = entry.input.value.replace(/\s+/g, ' ').trim();
  showFieldError(entry, '');
  if (!value) {
    showFieldError(entry, t('panel_err_required'));
    return;
  }
  let email;
  try {
    email = await resolveEmail(entry, value);
  } catch (error) {
    showFieldError(entry, error.status !== undefined ? problemText(error) : error.message);
    return;
  }
  const button = entry.form.querySelector('.member-add');
  button.disabled = true;
  try {
    await api('POST', membersPath(entry.room), { email, role: 'participant' });
    entry.input.value = '';
    entry.suggestions.replaceChildren();
    await loadMembers(entry);
    const added = (entry.members || []).find((m) => m.email === email);
    say(t('member_added', { name: added?.display_name || email, room: entry.room.name }));
  } catch (error) {
    showFieldError(entry, problemText(error));
  } finally {
    button.disabled = false;
  }
}

async function setRole(entry, member, role) {
  try {
    entry.members = await api('PUT', membersPath(entry.room, member.account_id), { role });
    renderEntry(entry);
    say(t('member_role_saved', { name: member.display_name || member.email }));
    showError('');
  } catch (error) {
    showError(problemText(error));
  }
}

async function removeMember(entry, member) {
  const name = member.display_name || member.email;
  const ok = await confirmDialog(t('member_remove_confirm', { name, room: entry.room.name }), t('member_remove'));
  if (!ok) return;
  try {
    entry.members = await api('DELETE', membersPath(entry.room, member.account_id));
    renderEntry(entry);
    say(t('member_removed', { name, room: entry.room.name }));
    showError('');
  } catch (error) {
    showError(problemText(error));
  }
}

async function callEveryone(entry) {
  const ok = await confirmDialog(t('call_everyone_confirm', { room: entry.room.name }), t('call_everyone_ok'));
  if (!ok) return;
  entry.callEveryone.disabled = true;
  try {
    const { online, offline } = await gather(entry.room.id);
    say(t('call_everyone_done', { online, offline }));
    showError('');
  } catch (error) {
    showError(peopleErrorText(error));
  } finally {
    entry.callEveryone.disabled = false;
  }
}

// Presence follows the socket; a changed contact list may be a changed membership.
peopleSocket.addEventListener('presence', (event) => {
  const { account_id: id, presence } = event.detail;
  for (const entry of sections.values()) {
    const member = (entry.members || []).find((m) => m.account_id === id);
    if (!member || member.presence === presence) continue;
    member.presence = presence;
    renderEntry(entry);
  }
});
peopleSocket.addEventListener('contacts', () => reloadMembers());

