// The participant's session: join (with resume, F-EN7), lobby, meeting media, leave and
// the end of a meeting. The server is the truth: buttons send commands, the state
// changes when the server's events arrive (events.js).

import { clearError, closeDialogs, confirmDialog, showError, toast } from './dialogs.js';
import { $ } from './dom.js';
import { errorKey, formatTime, t } from './i18n.js';
import { Publisher } from './peers.js';
import { changed, isModerator, me, state } from './state.js';

/** The ended screen's text for each way a meeting can end for us. */
const ENDED_TEXT = {
  left: 'left',
  kicked: 'removed',
  removed_by_host: 'removed',
  removed: 'removed',
  replaced: 'replaced',
  denied: 'denied',
  ended_by_host: 'ended_by_host',
  window_closed: 'ended_window_closed',
  reset: 'ended_reset',
  // A 1:1 call (issue 11, F-WB3): one side hung up, so it ended for both.
  call_ended: 'ended_call_ended',
};

/** Codes the page makes itself (no server sent them); the server's codes get their text
 * keys from the server (errorKey, i18n.js). */
const LOCAL_ERROR_TEXT = { timeout: 'err_timeout' };


const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?/;

/** The visitor's words for a server `error` (or a failed request). */
export function errorText(error) {
  const code = error.code || '';
  const key = errorKey(error) || LOCAL_ERROR_TEXT[code];
  if (key === 'err_too_early') {
    const payload = error.payload || error;
    const detail = payload.detail;
    const startsAt =
      payload.starts_at ??
      (detail && typeof detail === 'object' ? detail.starts_at : null) ??
      (typeof detail === 'string' ? detail.match(ISO_TIME)?.[0] : null);
    return t('err_too_early', { time: startsAt ? formatTime(startsAt) : '?' });
  }
  if (key) return t(key);
  const detail = typeof error.detail === 'string' && error.detail ? error.detail : code;
  return t('err_generic', { detail });
}

export class Session {
  constructor({ config, signaling, media, subs, prejoin, chat }) {
    this.config = config;
    // Errors that a join with a stale resume token would not fix by itself: the server's
    // error registry marks them (final_for_join) and the page's config lists them.
    this.finalJoinErrors = new Set(config.final_join_errors || []);
    this.signaling = signaling;
    this.media = media;
    this.subs = subs;
    this.prejoin = prejoin;
    this.chat = chat;
    this.publisher = null;
    this.joinRef = null;
    this.joinName = '';
    this.joinUsedResume = false;
    /** Rejoin (or knock again) as soon as the socket is back. */
    this.rejoinOnOpen = false;
    /** "Join with microphone off": keep the track silent until the server agrees. */
    this.muteRequested = false;
    this.mediaReady = Promise.resolve();
    this.resumeKey = `confero:resume:${config.invite}`;
    this.firstRoom = true;
    this.busy = { camera: false, screen: false };
    this.lastResume = null;
    /** The room of a 1:1 call (F-WB3): leaving is hanging up, for both. */
    this.isCall = config.room?.kind === 'call';
    /** Join at once with the account's name (a call's or a "call everyone" link). */
    this.autoJoin = false;
  }

  // ------------------------------------------------------------------ resume (F-EN7)
  loadResume() {
    try {
      const value = JSON.parse(sessionStorage.getItem(this.resumeKey) || 'null');
      return value && typeof value.token === 'string' ? value : null;
    } catch {
      return null;
    }
  }

  saveResume(token) {
    if (!token) return;
    try {
      sessionStorage.setItem(this.resumeKey, JSON.stringify({ token, name: this.joinName }));
    } catch {
      /* a reload then joins as new */
    }
  }

  clearResume() {
    try {
      sessionStorage.removeItem(this.resumeKey);
    } catch {
      /* nothing kept */
    }
  }

  // ------------------------------------------------------------------ views
  setView(view) {
    state.view = view;
    const sections = { prejoin: 'prejoin', lobby: 'lobby-wait', meeting: 'meeting', ended: 'ended' };
    for (const [name, id] of Object.entries(sections)) $(`#${id}`).hidden = name !== view;
    $('#app').dataset.view = view;
    const slots = { prejoin: '#prejoin-chat-slot', meeting: '#meeting-chat-slot', ended: '#ended-chat-slot' };
    if (slots[view]) this.chat.moveTo($(slots[view]));
    changed('view');
  }

  /** The socket (re)opened and the server sent `room`: rejoin if we were inside. */
  onRoom() {
    $('#join').disabled = false;
    const resume = this.loadResume();
    const wasInside = this.rejoinOnOpen || this.firstRoom;
    this.firstRoom = false;
    if (!wasInside || !['prejoin', 'meeting', 'lobby'].includes(state.view)) return;
    if (resume && state.view !== 'lobby') {
      $('#room-status').textContent = t('rejoining');
      this.join({ name: resume.name || '', resume: resume.token });
    } else if (this.rejoinOnOpen) {
      this.join({ name: this.joinName });
    } else if (this.autoJoin && state.account && state.view === 'prejoin') {
      // ?call= or ?autojoin=1: no prejoin; the devices start as the prejoin starts them.
      this.autoJoin = false;
      this.join({ name: this.prejoin.currentName() || state.account.display_name || '' });
    }
    this.rejoinOnOpen = false;
  }

  /** The socket closed: the server sees a drop; the peers are gone with it. `moved`: the
   * room runs on another node; a join it cut short is sent again once the socket is back. */
  onClosed({ moved = false } = {}) {
    if (this.joinRef) {
      this.joinRef = null;
      $('#join').disabled = false;
      if (moved) this.rejoinOnOpen = true;
    }
    if (state.view === 'meeting' || state.view === 'lobby') {
      this.rejoinOnOpen = true;
      this.closePeers();
      if (state.screen) this.stopScreen();
    }
  }

  // ------------------------------------------------------------------ joining
  /** Send `join`; `welcome`, `lobby` or an `error` answers (events.js). */
  async join({ name, resume = null }) {
    clearError();
    name = (name || '').replace(/\s+/g, ' ').trim();
    if (!state.account && !name) {
      showError(t('err_name_required'));
      this.setView('prejoin');
      $('#name').focus();
      return;
    }
    if (name.length > this.config.max_name) {
      showError(t('err_name_invalid'));
      return;
    }
    $('#join').disabled = true;
    this.joinName = name;
    this.prejoin.rememberName(name);
    if (!this.media.running && !resume) this.mediaReady = this.prejoin.start();
    await this.mediaReady;
    const ref = this.signaling.nextRef('join');
    const message = { type: 'join', ref };
    if (name) message.name = name;
    if (resume) message.resume = resume;
    this.joinUsedResume = Boolean(resume);
    if (!this.signaling.send(message)) {
      $('#join').disabled = false;
      this.rejoinOnOpen = true;
      return;
    }
    this.joinRef = ref;
  }

  joinFailed(error) {
    this.joinRef = null;
    $('#join').disabled = false;
    if (this.joinUsedResume) {
      this.clearResume();
      this.joinUsedResume = false;
      if (!this.finalJoinErrors.has(error.code) && (this.joinName || state.account)) {
        // The old participant is gone for good: come in as a new one.
        this.join({ name: this.joinName });
        return;
      }
    }
    if (state.view !== 'prejoin') this.setView('prejoin');
    if (!this.media.running) this.mediaReady = this.prejoin.start();
    this.prejoin.renderRoom();
    showError(errorText(error));
  }

  onLobby(message) {
    this.joinRef = null;
    state.lobbyId = message.lobby_id || null;
    this.setView('lobby');
  }

  cancelKnock() {
    this.signaling.send({ type: 'leave' });
    state.lobbyId = null;
    $('#join').disabled = false;
    this.setView('prejoin');
  }

  onWelcome(message) {
    const fresh = !this.joinUsedResume;
    this.joinRef = null;
    this.joinUsedResume = false;
    state.lobbyId = null;
    state.me = { id: message.participant_id, role: message.role };
    state.participantId = message.participant_id;
    state.role = message.role;
    this.saveResume(message.resume);
    this.applySnapshot(message.state || {});
    this.prejoin.stopMeter();
    state.camera = Boolean(this.media.camera);
    clearError();
    const self = me();
    this.muteRequested = fresh && Boolean(this.media.prefs.micOff) && !(self && self.muted);
    this.syncMic();
    this.setView('meeting');
    changed('me', 'participants', 'lobby', 'room', 'local');
    if (this.muteRequested) {
      this.signaling.command('mute').catch((error) => {
        this.muteRequested = false;
        this.syncMic();
        this.commandFailed(error);
      });
    }
    this.startPublishing();
  }

  applySnapshot(snapshot) {
    state.participants = new Map((snapshot.participants || []).map((p) => [p.id, { ...p }]));
    state.lobby = new Map((snapshot.lobby || []).map((e) => [e.id, { ...e }]));
    state.locked = Boolean(snapshot.locked);
    state.allMuted = Boolean(snapshot.all_muted);
    if (state.room) {
      state.room.running = true;
      state.room.locked = state.locked;
      state.room.count = state.participants.size;
    }
  }

  // ------------------------------------------------------------------ media
  async startPublishing() {
    this.closePublisher();
    const publisher = new Publisher({
      iceServers: this.config.ice_servers || [],
      onAudio: (track) => this.playRoomAudio(track),
      onState: (connection) => {
        if (connection === 'failed' && this.publisher === publisher) toast(t('err_media'), 'error');
      },
    });
    this.publisher = publisher;
    try {
      const sdp = await publisher.offer({
        mic: this.media.mic,
        camera: state.camera ? this.media.camera : null,
      });
      if (this.publisher !== publisher) return;
      this.signaling.send({ type: 'offer', sdp });
    } catch (error) {
      console.error('confero: offer failed', error);
      toast(t('err_media'), 'error');
    }
  }

  async onAnswer(message) {
    const publisher = this.publisher;
    if (!publisher || publisher.answered) return;
    try {
      await publisher.answer(message.sdp);
      this.sendMedia();
    } catch (error) {
      console.error('confero: answer refused', error);
      toast(t('err_media'), 'error');
    }
  }

  sendMedia() {
    this.signaling.send({ type: 'media', camera: state.camera, screen: state.screen });
  }

  playRoomAudio(track) {
    const audio = $('#room-audio');
    audio.srcObject = new MediaStream([track]);
    audio.play().then(
      () => ($('#audio-unblock').hidden = true),
      () => ($('#audio-unblock').hidden = false),
    );
  }

  /** The microphone sends sound only when the server says we are not muted. */
  syncMic() {
    const self = me();
    const muted = !self || Boolean(self.muted) || this.muteRequested;
    if (this.media.mic) this.media.mic.enabled = !muted;
  }

  async ensureMic() {
    if (this.media.mic) return;
    try {
      const track = await this.media.openMic();
      this.syncMic();
      await this.publisher?.replaceMic(track);
    } catch {
      toast(t('err_mic'), 'error');
    }
  }

  toggleMic() {
    if (state.view !== 'meeting') return;
    this.signaling.command('toggle_mute').catch((error) => this.commandFailed(error));
  }

  async toggleCamera() {
    if (state.view !== 'meeting' || this.busy.camera) return;
    this.busy.camera = true;
    try {
      if (state.camera) {
        await this.publisher?.replaceCamera(null);
        this.media.closeCamera();
        state.camera = false;
      } else {
        const track = await this.media.openCamera();
        await this.publisher?.replaceCamera(track);
        state.camera = true;
      }
      this.sendMedia();
      changed('local');
    } catch (error) {
      console.warn('confero: camera', error);
      toast(t('err_camera'), 'error');
    } finally {
      this.busy.camera = false;
    }
  }

  async toggleScreen() {
    if (state.view !== 'meeting' || this.busy.screen) return;
    if (state.screen) {
      this.stopScreen();
      return;
    }
    this.busy.screen = true;
    try {
      const track = await this.media.openScreen();
      track.addEventListener('ended', () => {
        if (this.media.screen === track) this.stopScreen();
      });
      await this.publisher?.replaceScreen(track);
      state.screen = true;
      this.sendMedia();
      changed('local');
    } catch (error) {
      // Cancelling the browser's picker is a choice, not an error.
      if (error.name !== 'NotAllowedError' && error.name !== 'AbortError') toast(t('err_screen'), 'error');
    } finally {
      this.busy.screen = false;
    }
  }

  stopScreen() {
    this.publisher?.replaceScreen(null)?.catch(() => {});
    this.media.closeScreen();
    if (state.screen) {
      state.screen = false;
      this.sendMedia();
    }
    changed('local');
  }

  /** A device chosen in the prejoin lists or the settings dialog. */
  async switchDevice(kind, deviceId) {
    try {
      if (kind === 'camera') {
        this.media.savePrefs({ cameraId: deviceId });
        const live = state.view === 'meeting' ? state.camera : !this.media.prefs.cameraOff;
        if (!live) return;
        const track = await this.media.openCamera(deviceId);
        if (state.view === 'meeting') await this.publisher?.replaceCamera(track);
      } else {
        const track = await this.media.openMic(deviceId);
        if (state.view === 'meeting') {
          this.syncMic();
          await this.publisher?.replaceMic(track);
        } else {
          track.enabled = !this.media.prefs.micOff;
        }
      }
      changed('local');
    } catch (error) {
      console.warn('confero: device', error);
      toast(t(kind === 'camera' ? 'err_camera' : 'err_mic'), 'error');
    }
  }

  toggleHand() {
    if (state.view !== 'meeting') return;
    const raised = Boolean(me()?.hand_raised);
    this.command(raised ? 'lower_hand' : 'raise_hand');
  }

  // ------------------------------------------------------------------ commands
  command(name, fields = {}) {
    return this.signaling.command(name, fields).catch((error) => {
      this.commandFailed(error);
      throw error;
    });
  }

  commandFailed(error) {
    if (error.code === 'connection.closed') return;
    toast(errorText(error), 'error');
  }

  quiet(promise) {
    promise.catch(() => {});
  }

  async removeParticipant(id) {
    const p = state.participants.get(id);
    if (!p || !(await confirmDialog(t('confirm_remove', { name: p.display_name }), t('remove')))) return;
    this.quiet(this.command('kick', { target: id }));
  }

  toggleLock() {
    this.quiet(this.command(state.locked ? 'unlock' : 'lock'));
  }

  async endAll() {
    if (!isModerator()) return;
    const count = state.participants.size;
    if (!(await confirmDialog(t('confirm_end_all', { count }), t('end_all')))) return;
    this.command('end_for_all').then(() => this.finish('ended_by_host'), () => {});
  }

  async endAllButMe() {
    if (!isModerator()) return;
    const count = Math.max(0, state.participants.size - 1);
    if (!(await confirmDialog(t('confirm_end_all_but_me', { count }), t('end_all_but_me')))) return;
    this.quiet(this.command('end_for_all_but_me'));
  }

  async resetRoom() {
    if (!isModerator()) return;
    if (!(await confirmDialog(t('confirm_reset'), t('reset_room')))) return;
    this.command('reset', { confirm: true }).then(() => this.finish('reset'), () => {});
  }

  // ------------------------------------------------------------------ leaving and the end
  leave() {
    this.signaling.send({ type: 'leave' });
    // Hanging up a call ends it for both (the server's rule): say so, not "you left".
    this.finish(this.isCall ? 'call_ended' : 'left');
  }

  /** Rejoin from the ended screen: devices again, then a new `join`. */
  rejoin() {
    this.setView('prejoin');
    if (!this.media.running) this.mediaReady = this.prejoin.start();
    // The same person again: the server lets one who left or dropped back in at once,
    // with the old role, even into a locked room (domain/conference.py decides).
    const resume = this.lastResume?.token ?? null;
    this.join({ name: this.joinName || this.prejoin.currentName(), resume });
  }

  /**
   * The meeting is over for us (left, removed, ended, denied): media stops at once,
   * the resume token goes, and the ended screen says why.
   */
  finish(reason) {
    if (state.view === 'ended') return;
    // Not kept for a reload (that would walk back in), only for the Rejoin button.
    this.lastResume = this.loadResume();
    this.clearResume();
    this.teardown();
    // A question asked in the meeting (confirm, settings, leave menu) has no meaning now.
    closeDialogs();
    $('#leave-options').hidden = true;
    $('#toasts').replaceChildren();
    state.endedReason = reason;
    $('#ended-reason').textContent = t(ENDED_TEXT[reason] || 'ended_other');
    this.setView('ended');
    $('#rejoin').focus();
  }

  closePublisher() {
    if (this.publisher) this.publisher.close();
    this.publisher = null;
  }

  closePeers() {
    this.closePublisher();
    this.subs.closeAll();
    const audio = $('#room-audio');
    audio.pause();
    audio.srcObject = null;
    $('#audio-unblock').hidden = true;
  }

  teardown() {
    this.closePeers();
    this.media.stop();
    this.prejoin.stopMeter();
    this.joinRef = null;
    this.rejoinOnOpen = false;
    this.muteRequested = false;
    state.me = null;
    state.participantId = null;
    state.role = null;
    state.lobbyId = null;
    state.camera = false;
    state.screen = false;
    state.participants.clear();
    state.lobby.clear();
    state.talking.clear();
    state.dominant = null;
    changed('me', 'participants', 'lobby', 'talking', 'local', 'streams');
  }
}
