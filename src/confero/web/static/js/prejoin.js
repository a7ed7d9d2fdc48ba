// The prejoin view (F-WB1): name, camera preview, microphone level as the device check,
// device choice, "join with camera / microphone off", and whether a meeting runs.
// Also the device lists of the settings dialog, which share the same code.

import { $, el, show } from './dom.js';
import { t } from './i18n.js';
import { LevelMeter, LocalMedia } from './media.js';
import { on, state } from './state.js';

const GUEST_NAME_KEY = 'confero:guest-name';

export class Prejoin {
  /**
   * @param {LocalMedia} media
   * @param {object} hooks
   * @param {(name: string) => void} hooks.join
   * @param {(kind: 'camera'|'mic', deviceId: string) => Promise<void>} hooks.switchDevice
   */
  constructor(media, hooks) {
    this.media = media;
    this.hooks = hooks;
    this.name = $('#name');
    this.preview = $('#preview');
    this.meterTrack = null;
    this.meter = new LevelMeter((level) => {
      const bar = $('#mic-level');
      bar.style.width = `${Math.round(level * 100)}%`;
      bar.setAttribute('aria-valuenow', String(Math.round(level * 100)));
    });
    this.cameraOff = $('#join-camera-off');
    this.micOff = $('#join-mic-off');
    this.cameraOff.checked = Boolean(media.prefs.cameraOff);
    this.micOff.checked = Boolean(media.prefs.micOff);
    if (!this.name.value && !state.account) {
      this.name.value = readGuestName();
    }

    $('#join-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.hooks.join(this.currentName());
    });
    this.cameraOff.addEventListener('change', () => this.setCameraOff(this.cameraOff.checked));
    this.micOff.addEventListener('change', () => {
      this.media.savePrefs({ micOff: this.micOff.checked });
      if (this.media.mic && state.view === 'prejoin') this.media.mic.enabled = !this.micOff.checked;
    });
    for (const [select, kind] of [
      [$('#camera-select'), 'camera'],
      [$('#mic-select'), 'mic'],
      [$('#settings-camera'), 'camera'],
      [$('#settings-mic'), 'mic'],
    ]) {
      select.addEventListener('change', () => this.hooks.switchDevice(kind, select.value));
    }
    navigator.mediaDevices?.addEventListener?.('devicechange', () => this.fillDevices());
    // The first touch of the page lets the level meter's audio context run.
    const wake = () => this.meter.resume();
    document.addEventListener('pointerdown', wake, { once: true });
    document.addEventListener('keydown', wake, { once: true });

    media.onChange(() => this.renderMedia());
    on('room', () => this.renderRoom());
    on('connection', () => this.renderRoom());
  }

  currentName() {
    return this.name.value.replace(/\s+/g, ' ').trim();
  }

  rememberName(name) {
    if (state.account) return;
    try {
      localStorage.setItem(GUEST_NAME_KEY, name);
    } catch {
      /* not kept */
    }
  }

  /** Open camera and microphone for the preview, as the preferences say. */
  async start() {
    const error = await this.media.start({ audio: true, video: !this.media.prefs.cameraOff });
    if (this.media.mic) this.media.mic.enabled = !this.media.prefs.micOff;
    this.deviceProblem(error);
    await this.fillDevices();
  }

  deviceProblem(error) {
    const status = $('#device-status');
    if (!error) {
      status.hidden = true;
      return;
    }
    status.textContent =
      error.name === 'NotAllowedError' || error.name === 'SecurityError'
        ? t('device_denied')
        : error.name === 'NotFoundError'
          ? `${t('no_camera')} / ${t('no_mic')}`
          : t('err_camera');
    status.hidden = false;
  }

  async setCameraOff(off) {
    this.media.savePrefs({ cameraOff: off });
    if (off) {
      this.media.closeCamera();
      return;
    }
    try {
      await this.media.openCamera();
      $('#device-status').hidden = true;
    } catch (error) {
      this.deviceProblem(error);
    }
  }

  renderMedia() {
    const camera = this.media.camera;
    if (camera) {
      const current = this.preview.srcObject?.getVideoTracks?.()[0];
      if (current !== camera) this.preview.srcObject = new MediaStream([camera]);
    } else {
      this.preview.srcObject = null;
    }
    show($('#preview-off'), !camera);
    // The level meter is the prejoin's device check; in the meeting it would only cost CPU.
    const wanted = state.view === 'meeting' ? null : this.media.mic;
    if (wanted !== this.meterTrack) {
      this.meterTrack = wanted;
      if (wanted) this.meter.attach(wanted);
      else this.meter.detach();
    }
    this.selectCurrent();
  }

  renderRoom() {
    const status = $('#room-status');
    const room = state.room;
    if (!room) {
      status.textContent = '';
      return;
    }
    const parts = [room.running ? t('meeting_running', { count: room.count ?? 0 }) : t('meeting_not_running')];
    if (room.locked) parts.push(t('room_locked_note'));
    status.textContent = parts.join(' ');
    status.classList.toggle('running', Boolean(room.running));
  }

  /** Fill the camera and microphone lists (prejoin and settings). */
  async fillDevices() {
    const { cameras, mics } = await this.media.devices();
    for (const select of [$('#camera-select'), $('#settings-camera')]) {
      fill(select, cameras, t('no_camera'), t('camera'));
    }
    for (const select of [$('#mic-select'), $('#settings-mic')]) {
      fill(select, mics, t('no_mic'), t('microphone'));
    }
    this.selectCurrent();
  }

  selectCurrent() {
    const cameraId = LocalMedia.deviceOf(this.media.camera) || this.media.prefs.cameraId;
    const micId = LocalMedia.deviceOf(this.media.mic) || this.media.prefs.micId;
    for (const select of [$('#camera-select'), $('#settings-camera')]) choose(select, cameraId);
    for (const select of [$('#mic-select'), $('#settings-mic')]) choose(select, micId);
  }

  /** Stop the preview (joining hands the tracks to the meeting; leaving stops them). */
  stopMeter() {
    this.meter.detach();
    this.meterTrack = null;
  }
}

function fill(select, devices, noneText, kindText) {
  const value = select.value;
  const options = devices.map((d, i) => el('option', { value: d.deviceId }, d.label || `${kindText} ${i + 1}`));
  if (options.length === 0) options.push(el('option', { value: '' }, noneText));
  select.replaceChildren(...options);
  select.disabled = devices.length === 0;
  if (value) choose(select, value);
}

function choose(select, deviceId) {
  if (deviceId && [...select.options].some((o) => o.value === deviceId)) select.value = deviceId;
}

function readGuestName() {
  try {
    return localStorage.getItem(GUEST_NAME_KEY) || '';
  } catch {
    return '';
  }
}
