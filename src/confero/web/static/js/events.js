// What the server says (docs/SIGNALING.md), turned into state changes. Conference events
// come as {"type":"event","event":<name>,...}; the names are confero.domain.events'.

import { toast } from './dialogs.js';
import { formatTime, t } from './i18n.js';
import { inviteFailed } from './invite.js';
import { changed, isModerator, state } from './state.js';

/** Reasons in `participant_left` that mean "you are out" when the id is ours. */
const OWN_LEFT = {
  kicked: 'removed',
  removed_by_host: 'removed',
  replaced: 'replaced',
  ended_by_host: 'ended_by_host',
  reset: 'reset',
  left: 'left',
};

export function createRouter(session) {
  const { chat, subs } = session;
  const inMeeting = () => state.view === 'meeting';

  const events = {
    participant_joined(m) {
      const p = m.participant;
      if (!p?.id) return;
      const known = state.participants.has(p.id);
      state.participants.set(p.id, { ...p });
      if (state.room && typeof m.count === 'number') state.room.count = m.count;
      if (!known && inMeeting() && p.id !== state.me?.id && !m.rejoined) {
        toast(t('joined_now', { name: p.display_name }));
      }
      changed('participants');
    },
    participant_left(m) {
      if (m.participant_id === state.me?.id) {
        session.finish(OWN_LEFT[m.reason] || m.reason || 'ended_other');
        return;
      }
      const p = state.participants.get(m.participant_id);
      state.participants.delete(m.participant_id);
      state.talking.delete(m.participant_id);
      if (state.dominant === m.participant_id) state.dominant = null;
      subs.dropParticipant(m.participant_id);
      if (state.room && typeof m.count === 'number') state.room.count = m.count;
      if (p && inMeeting() && m.reason !== 'replaced') toast(t('left_now', { name: p.display_name }));
      changed('participants', 'talking', 'streams');
    },
    mute_changed(m) {
      const p = state.participants.get(m.participant_id);
      if (p) p.muted = Boolean(m.muted);
      if (m.participant_id === state.me?.id) {
        session.muteRequested = false;
        session.syncMic();
        if (m.by && m.by !== state.me.id) toast(m.muted ? t('muted_by_host') : t('unmuted_by_host'));
        if (!m.muted) session.ensureMic();
      }
      changed('participants');
    },
    all_mute_changed(m) {
      state.allMuted = Boolean(m.muted);
      // whose mute it changed: their own mute_changed went to them alone
      for (const id of m.participant_ids || []) {
        const p = state.participants.get(id);
        if (p) p.muted = Boolean(m.muted);
      }
      changed('participants');
      if (m.by !== state.me?.id && inMeeting()) toast(m.muted ? t('all_muted') : t('all_unmuted'));
      changed('room');
    },
    lock_changed(m) {
      state.locked = Boolean(m.locked);
      if (state.room) state.room.locked = state.locked;
      if (inMeeting() && m.by !== state.me?.id) toast(state.locked ? t('locked_now') : t('unlocked_now'));
      changed('room');
    },
    knocked(m) {
      if (m.lobby_id === state.lobbyId) return; // our own knock
      if (!isModerator()) return;
      state.lobby.set(m.lobby_id, { id: m.lobby_id, display_name: m.display_name, channel: m.channel });
      toast(t('knocked', { name: m.display_name }));
      changed('lobby');
    },
    lobby_left(m) {
      if (m.lobby_id && m.lobby_id === state.lobbyId) {
        if (m.reason === 'denied') session.finish('denied');
        else if (m.code) session.joinFailed({ code: m.code });
        return; // admitted: `welcome` follows
      }
      state.lobby.delete(m.lobby_id);
      changed('lobby');
    },
    hand_changed(m) {
      const p = state.participants.get(m.participant_id);
      if (p) p.hand_raised = Boolean(m.raised);
      changed('participants');
    },
    conference_started() {
      if (state.room) state.room.running = true;
      changed('room');
    },
    conference_ended(m) {
      if (state.room) {
        state.room.running = false;
        state.room.count = 0;
      }
      if (inMeeting() || state.view === 'lobby') session.finish(m.reason || 'ended_other');
      changed('room');
    },
    invite_failed(m) {
      inviteFailed(m);
    },
    window_closing(m) {
      toast(t('window_closing', { time: formatTime(m.ends_at) }), 'warn');
    },
    chat_posted(m) {
      chat.posted(m);
    },
    room_content_reset() {
      chat.cleared();
      toast(t('chat_cleared'));
    },
  };

  const messages = {
    room(m) {
      state.room = { ...(m.room || {}) };
      if (state.view !== 'meeting') state.locked = Boolean(state.room.locked);
      if (m.account !== undefined) state.account = m.account;
      if (state.account && !document.querySelector('#name').value) {
        document.querySelector('#name').value = state.account.display_name || '';
      }
      chat.reset(m.chat);
      changed('room');
      session.onRoom();
    },
    welcome(m) {
      session.onWelcome(m);
    },
    lobby(m) {
      session.onLobby(m);
    },
    denied() {
      session.finish('denied');
    },
    left(m) {
      // Our own leave, or this page was replaced by a newer one (reload, other tab).
      if (inMeeting() || m.reason === 'replaced') session.finish(m.reason === 'replaced' ? 'replaced' : 'left');
    },
    pong() {
      /* keep-alive answer */
    },
    error(m) {
      const joining = session.joinRef && (m.ref === session.joinRef || !m.ref);
      if (joining) session.joinFailed(m);
      else session.commandFailed(m);
    },
    result() {
      /* answered requests are resolved in signaling.js */
    },
    answer(m) {
      session.onAnswer(m);
    },
    subscribe(m) {
      if (!m.stream_id || !m.sdp) return;
      subs.subscribe(m).catch((error) => console.error('confero: subscribe failed', error));
    },
    unsubscribe(m) {
      subs.unsubscribe(m.stream_id);
    },
    talking(m) {
      state.talking = new Set(Array.isArray(m.ids) ? m.ids : []);
      const other = [...state.talking].find((id) => id !== state.me?.id);
      if (other) state.dominant = other;
      changed('talking');
    },
    chat_page(m) {
      chat.addPage(m);
    },
    event(m) {
      events[m.event]?.(m);
    },
  };

  return function route(message) {
    const handler = messages[message.type] || events[message.type];
    if (handler) handler(message);
    else console.debug('confero: ignored', message.type);
  };
}
