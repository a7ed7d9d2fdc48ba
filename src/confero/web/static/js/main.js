// The room page (GET /join/{invite}): wires the views to the session and the socket.
// Three views on one page: prejoin (with lobby wait), meeting, ended; see session.js.
//
// For browser tests: window.confero = {publishPc, subscribePcs, state, snapshot(), signaling}.

import { Whiteboard } from './board.js';
import { Chat } from './chat.js';
import { confirmDialog, showConnection, showError, toast } from './dialogs.js';
import { $ } from './dom.js';
import { createRouter } from './events.js';
import { Files } from './files.js';
import { setupErrors, setupTexts, t } from './i18n.js';
import { setupInvite } from './invite.js';
import { LocalMedia } from './media.js';
import { renderToolbar, setSidebar, setupToolbar, sidebarOpen } from './meeting.js';
import { setupParticipants } from './participants.js';
import { Subscriptions } from './peers.js';
import { Prejoin } from './prejoin.js';
import { Recordings } from './recordings.js';
import { Session } from './session.js';
import { Signaling } from './signaling.js';
import { changed, on, snapshot, state } from './state.js';
import { Tiles } from './tiles.js';

const config = JSON.parse($('#confero-config').textContent);
setupTexts(config.lang, config.texts);
setupErrors(config.errors);
state.account = config.account;

const signaling = new Signaling(config.ws_path, config.commands);
const media = new LocalMedia();
const subs = new Subscriptions({
  iceServers: config.ice_servers || [],
  onStream: () => changed('streams'),
  onClose: () => changed('streams'),
  send: (message) => signaling.send(message),
});

let session = null;
const prejoin = new Prejoin(media, {
  join: (name) => session.join({ name }),
  switchDevice: (kind, deviceId) => session.switchDevice(kind, deviceId),
});

const chat = new Chat({
  send: (message) => signaling.send(message),
  request: (message) => signaling.request(message),
  onError: (error) => {
    if (error.code === 'auth.name_required' && state.view === 'prejoin') {
      showError(t('err_name_required'));
      $('#name').focus();
    } else {
      session.commandFailed(error);
    }
  },
  maxLength: config.max_chat,
  // A guest who has not joined posts under the name field's name; inside, the server knows.
  name: () => (state.view === 'meeting' ? '' : session.joinName || prejoin.currentName()),
  canPost: () => {
    if (state.account || state.view === 'meeting' || session.joinName || prejoin.currentName()) return true;
    showError(t('err_name_required'));
    if (state.view === 'prejoin') $('#name').focus();
    return false;
  },
  onUnread: () => {
    if (state.view === 'meeting' && !sidebarOpen()) $('#chat-unread').hidden = false;
  },
});

session = new Session({ config, signaling, media, subs, prejoin, chat });
// A call's link (?call=) or a "call everyone" pop-up's (?autojoin=1): join at once when
// the link is followed. Not on a reload or back/forward: after the meeting that would
// walk back in, and during it the resume token rejoins anyway.
const params = new URLSearchParams(location.search);
const arrival = performance.getEntriesByType?.('navigation')?.[0]?.type || 'navigate';
session.autoJoin =
  Boolean(state.account) &&
  (params.has('call') || params.get('autojoin') === '1') &&
  !['reload', 'back_forward'].includes(arrival);

// Whiteboards (issue 12): a member (an account with a role: the config has the room's id)
// draws on the room page before joining; everyone in the meeting, as a tile.
const roomMember = Boolean(config.room?.id);
const board = new Whiteboard({
  send: (message) => signaling.send(message),
  request: (message) => signaling.request(message),
  nextRef: (prefix) => signaling.nextRef(prefix),
  canUse: () => roomMember || state.view === 'meeting',
  inMeeting: () => state.view === 'meeting',
  onError: (error) => session.commandFailed(error),
  onToggle: (open) => placeBoard(open),
});

const tiles = new Tiles({
  localCamera: () => (state.camera ? media.camera : null),
  remote: (id, kind) => subs.streamOf(id, kind),
  board: () => (board.isOpen && state.view === 'meeting' ? board.element : null),
});

function boardOnStage() {
  tiles.pin('board');
  if (!state.speakerView) {
    state.speakerView = true;
    changed('view');
  }
}

function placeBoard(open) {
  const meeting = state.view === 'meeting';
  $('#board-toggle').setAttribute('aria-pressed', String(open && meeting));
  $('#board-prejoin')?.setAttribute('aria-pressed', String(open && !meeting));
  if (open && !meeting) board.placeIn($('#prejoin-board-slot'));
  changed('board');
  if (open && meeting) boardOnStage();
}

on('view', () => {
  if (state.view === 'meeting') {
    if (board.isOpen) placeBoard(true);
    board.resync(); // a guest may use boards now
  } else if (!roomMember) {
    board.revoke();
  } else if (board.isOpen) {
    if (state.view === 'prejoin') placeBoard(true);
    else board.close();
  }
});
$('#board-toggle').addEventListener('click', () => board.toggle());
$('#board-prejoin')?.addEventListener('click', () => board.toggle());
$('#board-focus').addEventListener('click', () => boardOnStage());
media.onChange(() => changed('local'));

setupParticipants({
  mute: (id, muted) => session.quiet(session.command(muted ? 'mute' : 'unmute', { target: id })),
  remove: (id) => session.removeParticipant(id),
  lowerHand: (id) => session.quiet(session.command('lower_hand', { target: id })),
  admit: (id) => session.quiet(session.command('admit', { target: id })),
  deny: (id) => session.quiet(session.command('deny', { target: id })),
  toggleLock: () => session.toggleLock(),
  muteAll: () => session.quiet(session.command('mute_all')),
  unmuteAll: () => session.quiet(session.command('unmute_all')),
});

// Invite from the meeting (F-WB6); the refusal of a call shows next to its field.
setupInvite({ call: (number) => signaling.command('invite', { number }) });

setupToolbar({
  toggleMic: () => session.toggleMic(),
  toggleCamera: () => session.toggleCamera(),
  toggleScreen: () => session.toggleScreen(),
  toggleHand: () => session.toggleHand(),
  leave: () => session.leave(),
  endAll: () => session.endAll(),
  endAllButMe: () => session.endAllButMe(),
  resetRoom: () => session.resetRoom(),
  openSettings: () => prejoin.fillDevices(),
});

// People (issue 11): presence and calls for a signed-in account, one module per page.
const people = config.people ? import('./people.js') : null;
if (people) {
  people
    .then(({ peopleSocket }) => {
      // Accepting a call or a "call everyone" elsewhere: leave this meeting first.
      peopleSocket.addEventListener('leaving', () => {
        if (state.view === 'meeting' || state.view === 'lobby') session.leave();
      });
    })
    .catch((error) => console.warn('confero: people', error));
}
// "Call everyone to the meeting" (F-WB4) for a moderator of a room with members.
$('#call-everyone')?.addEventListener('click', async () => {
  if (!people || !config.room.id) return;
  const ok = await confirmDialog(t('call_everyone_confirm', { room: config.room.name }), t('call_everyone_ok'));
  if (!ok) return;
  const { gather, peopleErrorText } = await people;
  try {
    const { online, offline } = await gather(config.room.id);
    toast(t('call_everyone_done', { online, offline }));
  } catch (error) {
    toast(peopleErrorText(error), 'error');
  }
});

// Shared files (issue 12): the Files panel, for participants in the meeting.
const files = new Files({
  roomId: () => state.room?.id ?? null,
  confirm: confirmDialog,
  showSidebar: (open) => setSidebar(open),
});
on('view', () => {
  if (state.view !== 'meeting') files.left();
});

// Recordings (issue 12): the indicator, the moderators' button and the list.
const recordings = new Recordings({
  roomId: () => state.room?.id ?? null,
  command: (name) => session.command(name),
  confirm: confirmDialog,
});
on('view', () => {
  if (state.view !== 'meeting') recordings.left();
});

$('#lobby-cancel').addEventListener('click', () => session.cancelKnock());
$('#rejoin').addEventListener('click', () => session.rejoin());
$('#audio-unblock').addEventListener('click', () => {
  $('#room-audio').play().then(() => ($('#audio-unblock').hidden = true), () => {});
});

// Moderator controls show for moderators only (the server checks every command anyway).
on('me', () => document.body.classList.toggle('is-moderator', state.me?.role === 'moderator'));

// ---------------------------------------------------------------- the socket
const route = createRouter(session);
let countdown = null;
const ROOM_NOT_FOUND = 4404;

function connectionNotice({ state: status, delay }) {
  clearInterval(countdown);
  state.connection = status;
  if (status === 'open') {
    showConnection('');
  } else if (status === 'retrying') {
    let seconds = Math.ceil(delay / 1000);
    const say = () => showConnection(t('cannot_connect', { seconds }));
    say();
    countdown = setInterval(() => {
      seconds = Math.max(0, seconds - 1);
      say();
    }, 1000);
  } else if (status === 'connecting' && $('#connection').hidden) {
    showConnection(t('connecting'));
  }
  changed('connection');
}

signaling.addEventListener('status', (event) => connectionNotice(event.detail));
signaling.addEventListener('open', () => signaling.send({ type: 'hello', lang: config.lang }));
signaling.addEventListener('closed', (event) => {
  $('#join').disabled = true;
  session.onClosed(event.detail);
  if (event.detail.final) {
    // The server refused this page for good (no such room, another site's page).
    showConnection('');
    showError(event.detail.code === ROOM_NOT_FOUND ? t('not_found_text') : t('err_generic', { detail: event.detail.code }));
  }
});
signaling.addEventListener('message', (event) => {
  try {
    route(event.detail);
  } catch (error) {
    console.error('confero: message failed', event.detail?.type, error);
  }
  try {
    const message = event.detail;
    if (message?.type === 'room') board.resync();
    board.route(message);
  } catch (error) {
    console.error('confero: board', error);
  }
  try {
    files.onMessage(event.detail);
  } catch (error) {
    console.error('confero: files', error);
  }
  try {
    recordings.onMessage(event.detail);
  } catch (error) {
    console.error('confero: recordings', error);
  }
});
window.addEventListener('online', () => signaling.retryNow());

window.confero = {
  get publishPc() {
    return session.publisher?.pc ?? null;
  },
  subscribePcs: subs.pcs,
  state,
  snapshot,
  signaling,
};

// ---------------------------------------------------------------- start
$('#join').disabled = true; // until the server has told us about the room
session.setView('prejoin');
renderToolbar();
session.mediaReady = prejoin.start().catch((error) => console.warn('confero: devices', error));
signaling.connect();
