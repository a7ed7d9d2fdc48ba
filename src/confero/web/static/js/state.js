// The page's state, and a tiny change bus: the controller (main.js) changes state and
// calls changed('topic'); the views render on the topics they show.
//
// Topics: view, room, me, participants, lobby, talking, local, streams, connection.

export const state = {
  /** prejoin | lobby | meeting | ended */
  view: 'prejoin',
  /** connecting | open | retrying */
  connection: 'connecting',
  /** From the `room` message: {id, name, language, locked, running, count}. */
  room: null,
  /** {display_name} when signed in (member), else null (guest). */
  account: null,
  /** After `welcome`: {id, role}. */
  me: null,
  /** The same as me.id / me.role, kept flat for tests (null when not inside). */
  participantId: null,
  role: null,
  /** While knocking: our lobby id. */
  lobbyId: null,
  /** participant id -> {id, display_name, role, channel, muted, hand_raised, volume} */
  participants: new Map(),
  /** lobby id -> {id, display_name, channel} (moderators only) */
  lobby: new Map(),
  locked: false,
  allMuted: false,
  /** Ids of who talks now (`talking` messages). */
  talking: new Set(),
  /** The last remote participant who talked: speaker view puts them on stage. */
  dominant: null,
  /** What we send: camera and screen on/off (the `media` message). */
  camera: false,
  screen: false,
  speakerView: false,
  /** Why the ended view shows: left | removed | replaced | denied | ended_by_host | ... */
  endedReason: null,
};

const bus = new EventTarget();

export function on(topic, fn) {
  bus.addEventListener(topic, () => fn(state));
}

export function changed(...topics) {
  for (const topic of topics) bus.dispatchEvent(new Event(topic));
}

export function me() {
  return state.me ? state.participants.get(state.me.id) || null : null;
}

export function isModerator() {
  return state.me?.role === 'moderator';
}

/** A plain copy for tests: window.confero.snapshot(). */
export function snapshot() {
  return {
    view: state.view,
    connection: state.connection,
    room: state.room,
    me: state.me,
    participantId: state.participantId,
    role: state.role,
    lobbyId: state.lobbyId,
    participants: [...state.participants.values()],
    lobby: [...state.lobby.values()],
    locked: state.locked,
    allMuted: state.allMuted,
    talking: [...state.talking],
    camera: state.camera,
    screen: state.screen,
    speakerView: state.speakerView,
    endedReason: state.endedReason,
  };
}
