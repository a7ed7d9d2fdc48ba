// The participant list (phone participants included, F-WB5), the moderator bar (lock,
// mute all) and the lobby of knockers with Admit / Deny (F-EN5).
// Rows are keyed by id and updated in place, so focus and hover survive updates.

import { $, el, icon, initials, label } from './dom.js';
import { t } from './i18n.js';
import { isModerator, on, state } from './state.js';

/**
 * @param {object} actions
 * @param {(id: string, muted: boolean) => void} actions.mute mute (true) or unmute someone
 * @param {(id: string) => void} actions.remove
 * @param {(id: string) => void} actions.lowerHand
 * @param {(id: string) => void} actions.admit
 * @param {(id: string) => void} actions.deny
 * @param {() => void} actions.toggleLock
 * @param {() => void} actions.muteAll
 * @param {() => void} actions.unmuteAll
 */
export function setupParticipants(actions) {
  const list = $('#participants');
  const lobbyList = $('#lobby-list');

  list.addEventListener('click', (event) => {
    const button = event.target.closest('button');
    const row = event.target.closest('.participant');
    if (!button || !row) return;
    const id = row.dataset.id;
    if (button.classList.contains('mute')) actions.mute(id, !row.classList.contains('muted'));
    else if (button.classList.contains('remove')) actions.remove(id);
    else if (button.classList.contains('lower-hand')) actions.lowerHand(id);
  });
  lobbyList.addEventListener('click', (event) => {
    const button = event.target.closest('button');
    const row = event.target.closest('.knocker');
    if (!button || !row) return;
    if (button.classList.contains('admit')) actions.admit(row.dataset.id);
    else if (button.classList.contains('deny')) actions.deny(row.dataset.id);
  });
  $('#lock-toggle').addEventListener('click', () => actions.toggleLock());
  $('#mute-all').addEventListener('click', () => actions.muteAll());
  $('#unmute-all').addEventListener('click', () => actions.unmuteAll());

  on('participants', renderParticipants);
  on('me', renderParticipants);
  on('talking', renderTalking);
  on('lobby', renderLobby);
  on('me', renderLobby);
  on('room', renderLock);
  on('me', renderLock);
}

function renderParticipants() {
  const list = $('#participants');
  const seen = new Set();
  const ordered = [...state.participants.values()].sort(byRaisedHandThenJoin);
  let previous = null;
  for (const p of ordered) {
    seen.add(p.id);
    let row = list.querySelector(`.participant[data-id="${CSS.escape(p.id)}"]`);
    if (!row) row = buildRow(p);
    updateRow(row, p);
    // Keep the order: raised hands first, then join order.
    const wanted = previous ? previous.nextElementSibling : list.firstElementChild;
    if (wanted !== row) list.insertBefore(row, wanted);
    previous = row;
  }
  for (const row of [...list.children]) if (!seen.has(row.dataset.id)) row.remove();
  $('#participant-count').textContent = String(state.participants.size);
}

function byRaisedHandThenJoin(a, b) {
  // Hands up first (a moderator sees who waits to speak); Map order is join order.
  if (a.hand_raised !== b.hand_raised) return a.hand_raised ? -1 : 1;
  return 0;
}

function buildRow(p) {
  const row = el(
    'li',
    { class: 'participant', dataset: { id: p.id, channel: p.channel || 'browser' } },
    el('span', { class: 'avatar small', 'aria-hidden': 'true' }),
    el(
      'span',
      { class: 'who' },
      el('span', { class: 'name' }),
      el('span', { class: 'badges' }),
    ),
    el(
      'span',
      { class: 'actions mod-only' },
      el('button', { type: 'button', class: 'icon-button lower-hand' }, icon('hand')),
      el('button', { type: 'button', class: 'icon-button mute' }, icon('mic-off', 'on'), icon('mic', 'off')),
      el('button', { type: 'button', class: 'icon-button remove' }, icon('user-x')),
    ),
  );
  return row;
}

function updateRow(row, p) {
  const mine = state.me?.id === p.id;
  row.dataset.channel = p.channel || 'browser';
  row.classList.toggle('muted', Boolean(p.muted));
  row.classList.toggle('hand', Boolean(p.hand_raised));
  row.classList.toggle('moderator', p.role === 'moderator');
  row.classList.toggle('talking', state.talking.has(p.id));
  row.classList.toggle('self', mine);

  const avatar = row.querySelector('.avatar');
  avatar.replaceChildren(p.channel === 'phone' ? icon('phone') : initials(p.display_name));

  row.querySelector('.name').textContent = mine ? t('you', { name: p.display_name }) : p.display_name;
  const badges = row.querySelector('.badges');
  badges.replaceChildren(
    ...[
      p.channel === 'phone' && badge('phone', t('phone'), 'phone-badge'),
      p.role === 'moderator' && badge('star', t('moderator'), 'moderator-badge'),
      p.hand_raised && badge('hand', t('hand_raised'), 'hand-badge'),
      p.muted && badge('mic-off', t('muted'), 'muted-badge'),
    ].filter(Boolean),
  );

  const actions = row.querySelector('.actions');
  // A moderator acts on others; for oneself the toolbar is there.
  actions.hidden = mine || !isModerator();
  const mute = row.querySelector('.mute');
  label(mute, `${p.muted ? t('unmute') : t('mute')}: ${p.display_name}`);
  label(row.querySelector('.remove'), `${t('remove')}: ${p.display_name}`);
  const lower = row.querySelector('.lower-hand');
  lower.hidden = !p.hand_raised;
  label(lower, `${t('lower_hand')}: ${p.display_name}`);
}

function badge(name, text, cls) {
  const span = el('span', { class: `badge-icon ${cls}`, title: text, role: 'img', 'aria-label': text });
  span.append(icon(name));
  return span;
}


function renderTalking() {
  for (const row of $('#participants').children) {
    row.classList.toggle('talking', state.talking.has(row.dataset.id));
  }
}

function renderLobby() {
  const list = $('#lobby-list');
  const seen = new Set();
  for (const entry of state.lobby.values()) {
    seen.add(entry.id);
    if (list.querySelector(`.knocker[data-id="${CSS.escape(entry.id)}"]`)) continue;
    list.append(
      el(
        'li',
        { class: 'knocker', dataset: { id: entry.id, channel: entry.channel || 'browser' } },
        el('span', { class: 'avatar small', 'aria-hidden': 'true' }, entry.channel === 'phone' ? icon('phone') : initials(entry.display_name)),
        el('span', { class: 'name' }, entry.display_name),
        el('button', { type: 'button', class: 'button small primary admit', 'aria-label': `${t('admit')}: ${entry.display_name}` }, t('admit')),
        el('button', { type: 'button', class: 'button small deny', 'aria-label': `${t('deny')}: ${entry.display_name}` }, t('deny')),
      ),
    );
  }
  for (const row of [...list.children]) if (!seen.has(row.dataset.id)) row.remove();
  $('#lobby-panel').hidden = state.lobby.size === 0 || !isModerator();
}

function renderLock() {
  const button = $('#lock-toggle');
  button.classList.toggle('active', state.locked);
  button.querySelector('.label').textContent = state.locked ? t('unlock') : t('lock');
  $('#locked-banner').hidden = !state.locked;
}
