// The people socket (docs/SIGNALING.md "People", issue 11, F-WB3, F-WB4): presence of
// one's contacts, 1:1 video calls (the outgoing dialog; the incoming one that rings, or a
// waiting call while in a meeting), the "call everyone" pop-up and the missed calls.
// Every panel page and the room page of a signed-in account load it; each open page
// keeps one socket and pings it, so the server knows the account is online. The server
// keeps all state (calls, presence, missed calls); this page only shows it.
//
// For page scripts: peopleSocket (an EventTarget: 'welcome', 'contacts', 'presence',
// 'missed', 'status', 'leaving'), callContact(contact), gather(roomId), presenceOf(id),
// peopleErrorText(error). For browser tests: window.conferoPeople.snapshot().

import { $, el, initials } from './dom.js';
import { errorKey, formatTime, setupErrors, setupTexts, t } from './i18n.js';
import { PeopleError, PeopleSocket } from './people-socket.js';
import { Ring } from './ring.js';

const NOTICE_MS = 6000;

const STATE_TEXT = {
  ringing: 'call_ringing',
  accepted: 'call_accepted',
  declined: 'call_declined',
  busy: 'call_busy',
  no_answer: 'call_no_answer',
  cancelled: 'call_cancelled',
  ended: 'call_ended',
};

const config = JSON.parse($('#confero-config').textContent);
setupTexts(config.lang, config.texts);
setupErrors(config.errors);

function hasText(key) {
  return Boolean(key) && Object.hasOwn(config.texts || {}, key);
}

/** A refusal of the people socket in words (the registry's text for its code). */
export function peopleErrorText(error) {
  if (error && (error.code === 'connection.closed' || error.code === 'timeout')) {
    return t('people_not_connected');
  }
  const key = errorKey(error || {});
  if (hasText(key)) return t(key);
  return t('people_error', { detail: (error && (error.detail || error.code)) || '?' });
}

// ------------------------------------------------------------------ the state
class People extends PeopleSocket {
  constructor(path) {
    super(path);
    this.accountId = null;
    /** account id -> CONTACT (with its presence), from `welcome` and `contacts`. */
    this.contacts = new Map();
    /** Counts the contact lists the socket sent (0: none yet). */
    this.contactsVersion = 0;
    this.missed = [];
    /** Calls ringing for us (we are the callee), oldest first: id -> CALL. */
    this.ringing = new Map();
    /** The call this page started: {id, accountId, name, state, waiting}. */
    this.outgoing = null;
    /** Ids of calls this page accepted: only this page follows the call's join_url. */
    this.accepting = new Set();
    this.ring = new Ring();
  }

  handle(m) {
    switch (m.type) {
      case 'welcome':
        this.accountId = m.account_id || null;
        this.setPing(m.ping);
        this.setContacts(m.contacts);
        this.setMissed(m.missed);
        this.ringing.clear();
        for (const call of m.ringing || []) this.callState(call);
        renderIncoming();
        this.emit('welcome', m);
        break;
      case 'contacts':
        this.setContacts(m.contacts);
        break;
      case 'presence': {
        const contact = this.contacts.get(m.account_id);
        if (contact) contact.presence = m.presence;
        this.emit('presence', { account_id: m.account_id, presence: m.presence });
        break;
      }
      case 'ringing':
        this.callState(m.call);
        break;
      case 'call_state':
        this.callState(m.call);
        break;
      case 'gathering':
        showGathering(m);
        break;
      case 'missed':
        this.setMissed(m.missed);
        break;
      case 'error':
        // A refusal nobody waits for (no ref of ours): say it.
        notice(peopleErrorText(new PeopleError(m.code || 'error', m.detail ?? m.message, m)));
        break;
      default:
        break; // pong, gathered, result: answers handled above
    }
  }

  setContacts(list) {
    this.contacts = new Map((Array.isArray(list) ? list : []).map((c) => [c.account_id, { ...c }]));
    this.contactsVersion += 1;
    this.emit('contacts', [...this.contacts.values()]);
  }

  setMissed(list) {
    this.missed = Array.isArray(list) ? list : [];
    renderMissed();
    this.emit('missed', this.missed);
  }

  // ---------------------------------------------------------------- calls
  callState(call) {
    if (!call || !call.id) return;
    const callee = call.callee?.account_id;
    const caller = call.caller?.account_id;
    if (this.accountId && callee === this.accountId) {
      if (call.state === 'ringing') this.ringing.set(call.id, call);
      else this.ringing.delete(call.id);
      if (call.state === 'accepted' && this.accepting.has(call.id) && call.join_url) {
        this.accepting.delete(call.id);
        go(call.join_url);
        return;
      }
      if (call.state !== 'ringing') this.accepting.delete(call.id);
      renderIncoming();
      return;
    }
    const mine = this.outgoing;
    if (!mine || (caller && this.accountId && caller !== this.accountId)) return;
    if (mine.id === null && callee === mine.accountId) mine.id = call.id;
    if (mine.id !== call.id) return; // another page of ours started it
    mine.state = call.state;
    mine.waiting = Boolean(call.waiting);
    renderOutgoing();
    if (call.state === 'accepted' && call.join_url) go(call.join_url);
  }

  async call(contact) {
    if (this.outgoing && ['starting', 'ringing'].includes(this.outgoing.state)) {
      renderOutgoing();
      return;
    }
    this.outgoing = {
      id: null,
      accountId: contact.account_id,
      name: contact.display_name || contact.email || '',
      state: 'starting',
      waiting: false,
      error: '',
    };
    renderOutgoing();
    try {
      const reply = await this.request({ type: 'call', account_id: contact.account_id }, 'call_state');
      // callState() ran on the reply already (it is a call_state too).
      if (this.outgoing && this.outgoing.id === null && reply.call) {
        this.outgoing.id = reply.call.id;
        this.callState(reply.call);
      }
    } catch (error) {
      if (!this.outgoing) return;
      this.outgoing.state = 'failed';
      this.outgoing.error = peopleErrorText(error);
      renderOutgoing();
    }
  }

  cancelOutgoing() {
    const mine = this.outgoing;
    if (mine && mine.id && ['starting', 'ringing'].includes(mine.state)) {
      this.tell({ type: 'call_cancel', call_id: mine.id }, (error) => notice(peopleErrorText(error)));
    }
    this.outgoing = null;
    renderOutgoing();
  }

  answer(callId, accept) {
    if (accept) this.accepting.add(callId);
    else this.ringing.delete(callId);
    const type = accept ? 'call_accept' : 'call_decline';
    this.tell({ type, call_id: callId }, (error) => {
      this.accepting.delete(callId);
      this.ringing.delete(callId);
      renderIncoming();
      notice(peopleErrorText(error));
    });
    renderIncoming();
  }

  dismissMissed(id) {
    this.missed = id === 'all' ? [] : this.missed.filter((m) => m.id !== id);
    renderMissed();
    this.tell({ type: 'missed_dismiss', id }, (error) => notice(peopleErrorText(error)));
  }

  snapshot() {
    return {
      open: this.open,
      accountId: this.accountId,
      contacts: [...this.contacts.values()],
      missed: this.missed,
      ringing: [...this.ringing.keys()],
      ringSounding: this.ring.playing,
      outgoing: this.outgoing ? { ...this.outgoing } : null,
    };
  }
}

// ------------------------------------------------------------------ the page's parts
const people = new People(config.people?.ws_path || '');

/** Leave for a meeting: the room page hears 'leaving' first and leaves its own. */
function go(url) {
  people.ring.stop();
  people.emit('leaving', { url });
  location.assign(url);
}

let noticeTimer = null;

function notice(text) {
  const node = $('#people-notice');
  if (!node) return;
  node.textContent = text;
  node.hidden = !text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    node.hidden = true;
  }, NOTICE_MS);
}

function openModal(dialog) {
  if (dialog && !dialog.open) dialog.showModal();
}

function renderOutgoing() {
  const dialog = $('#call-outgoing');
  if (!dialog) return;
  const mine = people.outgoing;
  if (!mine) {
    if (dialog.open) dialog.close();
    return;
  }
  const live = ['starting', 'ringing'].includes(mine.state);
  $('#call-outgoing-title').textContent = t('call_outgoing_title', { name: mine.name });
  $('#call-outgoing-avatar').textContent = initials(mine.name);
  let text;
  if (mine.state === 'failed') text = mine.error;
  else if (mine.state === 'ringing' && mine.waiting) text = t('call_ringing_waiting', { name: mine.name });
  else text = t(STATE_TEXT[mine.state] || 'call_ringing', { name: mine.name });
  const status = $('#call-outgoing-status');
  status.textContent = text;
  dialog.dataset.state = mine.state;
  $('#call-cancel').hidden = !live;
  $('#call-outgoing-close').hidden = live || mine.state === 'accepted';
  openModal(dialog);
  (live ? $('#call-cancel') : $('#call-outgoing-close')).focus();
}

function currentIncoming() {
  for (const call of people.ringing.values()) return call;
  return null;
}

function renderIncoming() {
  const dialog = $('#call-incoming');
  if (!dialog) return;
  const call = currentIncoming();
  if (!call) {
    people.ring.stop();
    dialog.dataset.ringing = 'false';
    delete dialog.dataset.callId;
    if (dialog.open) dialog.close();
    return;
  }
  const name = call.caller?.display_name || '';
  const accepting = people.accepting.has(call.id);
  dialog.dataset.callId = call.id;
  dialog.classList.toggle('waiting', Boolean(call.waiting));
  $('#call-incoming-name').textContent = name;
  $('#call-incoming-avatar').textContent = initials(name);
  $('#call-incoming-text').textContent = accepting
    ? t('call_accepted')
    : t(call.waiting ? 'call_incoming_waiting' : 'call_incoming', { name });
  $('#call-accept').disabled = accepting;
  $('#call-decline').disabled = accepting;
  const fresh = !dialog.open;
  openModal(dialog);
  if (accepting) {
    people.ring.stop();
  } else {
    people.ring.start();
    if (fresh) $('#call-accept').focus();
  }
  dialog.dataset.ringing = String(people.ring.playing);
}

let gatheringUrl = null;

function showGathering(m) {
  const dialog = $('#gathering');
  if (!dialog || !m.join_url) return;
  // Already in that very meeting on this page: nothing to join.
  const target = new URL(m.join_url, location.href);
  if (target.pathname === location.pathname && $('#app')?.dataset.view === 'meeting') return;
  gatheringUrl = m.join_url;
  $('#gathering-text').textContent = t('call_gathering', {
    caller: m.caller_name || '',
    room: m.room_name || '',
  });
  const join = $('#gathering-join');
  join.href = m.join_url;
  dialog.dataset.roomId = m.room_id || '';
  openModal(dialog);
  join.focus();
}

function renderMissed() {
  const box = $('#missed');
  const list = $('#missed-list');
  if (!box || !list) return;
  list.replaceChildren(
    ...people.missed.map((m) => {
      const text =
        m.kind === 'gather'
          ? t('call_missed_gather', { name: m.caller_name || '', room: m.room_name || '' })
          : t('call_missed_call', { name: m.caller_name || '' });
      return el(
        'li',
        { class: 'missed-item', dataset: { id: m.id, kind: m.kind } },
        el('span', { class: 'missed-text' }, text),
        m.at ? el('time', { class: 'hint', datetime: m.at }, formatTime(m.at)) : null,
        m.join_url
          ? el('a', { class: 'button small primary missed-join', href: m.join_url }, t('call_missed_join'))
          : null,
        el(
          'button',
          {
            type: 'button',
            class: 'button small missed-dismiss',
            'aria-label': `${t('call_missed_dismiss')}: ${text}`,
            onclick: () => people.dismissMissed(m.id),
          },
          t('call_missed_dismiss'),
        ),
      );
    }),
  );
  box.hidden = people.missed.length === 0;
  $('#missed-dismiss-all').hidden = people.missed.length < 2;
}

function wire() {
  $('#call-cancel')?.addEventListener('click', () => people.cancelOutgoing());
  $('#call-outgoing-close')?.addEventListener('click', () => {
    people.outgoing = null;
    renderOutgoing();
  });
  $('#call-outgoing')?.addEventListener('cancel', (event) => {
    // Escape: while it rings that is "cancel the call", afterwards "close".
    event.preventDefault();
    people.cancelOutgoing();
  });
  $('#call-accept')?.addEventListener('click', () => {
    const call = currentIncoming();
    if (call) people.answer(call.id, true);
  });
  $('#call-decline')?.addEventListener('click', () => {
    const call = currentIncoming();
    if (call) people.answer(call.id, false);
  });
  const incoming = $('#call-incoming');
  // Escape does not answer a call: Accept or Decline does.
  incoming?.addEventListener('cancel', (event) => event.preventDefault());
  // Closed from outside (a page closing all its dialogs) while it still rings: show again.
  incoming?.addEventListener('close', () => {
    if (currentIncoming()) setTimeout(renderIncoming, 0);
    else people.ring.stop();
  });
  $('#gathering-dismiss')?.addEventListener('click', () => $('#gathering').close());
  $('#gathering-join')?.addEventListener('click', (event) => {
    event.preventDefault();
    $('#gathering').close();
    if (gatheringUrl) go(gatheringUrl);
  });
  $('#missed-dismiss-all')?.addEventListener('click', () => people.dismissMissed('all'));
  $('#missed-list')?.addEventListener('click', (event) => {
    const link = event.target.closest('.missed-join');
    if (!link) return;
    event.preventDefault();
    go(link.getAttribute('href'));
  });
  const wake = () => people.ring.wake();
  document.addEventListener('pointerdown', wake);
  document.addEventListener('keydown', wake);
  window.addEventListener('online', () => people.retryNow());
  window.addEventListener('pagehide', () => people.close());
  // Back from the back/forward cache: the page is open again.
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    people.stopped = false;
    people.connect();
  });
}

if (config.people?.ws_path) {
  wire();
  people.connect();
}

window.conferoPeople = {
  snapshot: () => people.snapshot(),
  socket: people,
};

// ------------------------------------------------------------------ for page scripts
export const peopleSocket = people;

/** Start a 1:1 video call with a contact ({account_id, display_name}). */
export function callContact(contact) {
  return people.call(contact);
}

/** "Call everyone to the meeting" (F-WB4): resolves to {online, offline}. */
export async function gather(roomId) {
  const reply = await people.request({ type: 'gather', room_id: roomId }, 'gathered');
  return { online: Number(reply.online) || 0, offline: Number(reply.offline) || 0 };
}

/** A contact's presence as the server last said: online | busy | offline. */
export function presenceOf(accountId) {
  return people.contacts.get(accountId)?.presence || 'offline';
}

export function canCall(presence) {
  return presence === 'online' || presence === 'busy';
}
