// Local devices: microphone, camera, screen; the device preferences the visitor chose; and
// the microphone level meter of the device check (F-WB1).

const PREFS_KEY = 'confero:devices';

function loadPrefs() {
  try {
    return { micId: '', cameraId: '', cameraOff: false, micOff: false, ...JSON.parse(localStorage.getItem(PREFS_KEY) || '{}') };
  } catch {
    return { micId: '', cameraId: '', cameraOff: false, micOff: false };
  }
}

export class LocalMedia {
  constructor() {
    this.mic = null;
    this.camera = null;
    this.screen = null;
    this.prefs = loadPrefs();
    this.listeners = new Set();
  }

  savePrefs(changes) {
    Object.assign(this.prefs, changes);
    try {
      localStorage.setItem(PREFS_KEY, JSON.stringify(this.prefs));
    } catch {
      /* private mode: preferences last for this page only */
    }
  }

  /** Call `fn()` whenever a local track starts or stops. */
  onChange(fn) {
    this.listeners.add(fn);
  }

  changed() {
    for (const fn of this.listeners) fn(this);
  }

  audioConstraints() {
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (this.prefs.micId) audio.deviceId = this.prefs.micId;
    return audio;
  }

  videoConstraints() {
    const video = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
    if (this.prefs.cameraId) video.deviceId = this.prefs.cameraId;
    return video;
  }

  /**
   * Open what is wanted in one permission prompt; when that fails (no camera, a busy
   * device) try each alone, so a missing camera still leaves the microphone working.
   * Resolves to the first error or null.
   */
  async start({ audio = true, video = true } = {}) {
    if (!navigator.mediaDevices?.getUserMedia || (!audio && !video)) return null;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: audio ? this.audioConstraints() : false,
        video: video ? this.videoConstraints() : false,
      });
      if (audio) this.setMic(stream.getAudioTracks()[0] || null);
      if (video) this.setCamera(stream.getVideoTracks()[0] || null);
      return null;
    } catch (error) {
      if (error.name === 'NotAllowedError' || error.name === 'SecurityError') return error;
      let first = null;
      if (audio) first = (await this.openMic().then(() => null, (e) => e)) || first;
      if (video) first = first || (await this.openCamera().then(() => null, (e) => e));
      return first;
    }
  }

  setMic(track) {
    if (this.mic && this.mic !== track) this.mic.stop();
    this.mic = track;
    if (track) track.addEventListener('ended', () => this.mic === track && this.changed());
    this.changed();
  }

  setCamera(track) {
    if (this.camera && this.camera !== track) this.camera.stop();
    this.camera = track;
    this.changed();
  }

  async openMic(deviceId) {
    if (deviceId !== undefined) this.savePrefs({ micId: deviceId });
    const enabled = this.mic ? this.mic.enabled : true;
    const stream = await navigator.mediaDevices.getUserMedia({ audio: this.audioConstraints() });
    const track = stream.getAudioTracks()[0];
    track.enabled = enabled;
    this.setMic(track);
    return track;
  }

  async openCamera(deviceId) {
    if (deviceId !== undefined) this.savePrefs({ cameraId: deviceId });
    // A camera is opened once: the old one is released first (some cannot be opened twice).
    if (this.camera) this.setCamera(null);
    const stream = await navigator.mediaDevices.getUserMedia({ video: this.videoConstraints() });
    const track = stream.getVideoTracks()[0];
    this.setCamera(track);
    return track;
  }

  closeCamera() {
    this.setCamera(null);
  }

  async openScreen() {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    if (this.screen) this.screen.stop();
    this.screen = track;
    this.changed();
    return track;
  }

  closeScreen() {
    if (this.screen) this.screen.stop();
    this.screen = null;
    this.changed();
  }

  /** Stop every local track: camera light off, microphone released. */
  stop() {
    for (const track of [this.mic, this.camera, this.screen]) if (track) track.stop();
    this.mic = null;
    this.camera = null;
    this.screen = null;
    this.changed();
  }

  get running() {
    return Boolean(this.mic || this.camera || this.screen);
  }

  /** Cameras and microphones (labels appear only after a permission was given). */
  async devices() {
    if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], mics: [] };
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      cameras: all.filter((d) => d.kind === 'videoinput'),
      mics: all.filter((d) => d.kind === 'audioinput'),
    };
  }

  /** The device id a live track uses, to select it in the lists. */
  static deviceOf(track) {
    return track?.getSettings?.().deviceId || '';
  }
}

/** The microphone level as 0..1, several times a second, for the device check. */
export class LevelMeter {
  constructor(onLevel) {
    this.onLevel = onLevel;
    this.context = null;
    this.source = null;
    this.analyser = null;
    this.frame = 0;
  }

  attach(track) {
    this.detach();
    if (!track || typeof AudioContext === 'undefined') return;
    if (!this.context) this.context = new AudioContext();
    // Autoplay rules keep a context suspended until the visitor touches the page.
    if (this.context.state === 'suspended') this.context.resume().catch(() => {});
    this.source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 1024;
    this.source.connect(this.analyser);
    const samples = new Float32Array(this.analyser.fftSize);
    const tick = () => {
      if (!this.analyser) return;
      this.analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      // About -60 dBFS .. 0 dBFS mapped onto 0..1: speech shows clearly.
      const level = Math.max(0, Math.min(1, (20 * Math.log10(rms + 1e-9) + 60) / 60));
      this.onLevel(track.enabled ? level : 0);
      this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  resume() {
    if (this.context?.state === 'suspended') this.context.resume().catch(() => {});
  }

  detach() {
    cancelAnimationFrame(this.frame);
    if (this.source) this.source.disconnect();
    this.source = null;
    this.analyser = null;
    this.onLevel(0);
  }

  close() {
    this.detach();
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}
