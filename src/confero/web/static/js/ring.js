// The ring of an incoming call (issue 11, F-WB3): a repeating two-tone from WebAudio,
// no sound file to fetch. A page nobody touched yet may not play sound (the browser's
// autoplay rule): the first touch of the page wakes it (people.js calls wake()).

/** A ring: two tones [frequency Hz, start s, length s], then a pause until `every` s. */
const RING = { tones: [[440, 0, 0.4], [480, 0.45, 0.4]], every: 2 };

export class Ring {
  constructor() {
    this.context = null;
    this.timer = null;
  }

  get playing() {
    return this.timer !== null;
  }

  start() {
    if (this.timer !== null) return;
    try {
      this.context = this.context || new AudioContext();
      this.context.resume().catch(() => {});
    } catch {
      this.context = null; // no audio here: the dialog still shows
    }
    const burst = () => this.burst();
    burst();
    this.timer = setInterval(burst, RING.every * 1000);
  }

  burst() {
    const ctx = this.context;
    if (!ctx || ctx.state === 'closed') return;
    const now = ctx.currentTime;
    for (const [frequency, at, length] of RING.tones) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0, now + at);
      gain.gain.linearRampToValueAtTime(0.2, now + at + 0.02);
      gain.gain.setValueAtTime(0.2, now + at + length - 0.05);
      gain.gain.linearRampToValueAtTime(0, now + at + length);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + at);
      osc.stop(now + at + length + 0.01);
    }
  }

  /** A page that was never touched may not play sound: the first touch wakes it. */
  wake() {
    if (this.context && this.context.state === 'suspended') this.context.resume().catch(() => {});
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.context && this.context.state === 'running') this.context.suspend().catch(() => {});
  }
}
