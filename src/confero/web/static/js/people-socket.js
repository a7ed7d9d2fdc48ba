// The people socket's wire (docs/SIGNALING.md "People", issue 11): the same envelope as
// the meeting socket ({"v": 1, "type", "ref"?}), reconnects by itself with a growing
// pause, pings at the interval the server's `welcome` names (the server counts a page
// gone without them), and matches answers to requests by `ref`. What the messages mean
// is people.js's: it subclasses this and implements handle().

const VERSION = 1;
const RETRY_MS = [1000, 2000, 4000, 8000, 15000];
/** Close codes after which trying again cannot help: not signed in, another site. */
const FINAL_CODES = new Set([4401, 4403]);
const REQUEST_TIMEOUT_MS = 10000;
const DEFAULT_PING_S = 10;

export class PeopleError extends Error {
  constructor(code, detail, payload = {}) {
    super(detail || code);
    this.code = code;
    this.detail = detail;
    this.payload = payload;
  }
}

export class PeopleSocket extends EventTarget {
  constructor(path) {
    super();
    this.path = path;
    this.socket = null;
    this.stopped = !path;
    this.attempt = 0;
    this.seq = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pingSeconds = DEFAULT_PING_S;
    /** ref -> {resolve, reject, timer, expect} (requests) or {onError} (told messages). */
    this.pending = new Map();
  }

  get url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${this.path}`;
  }

  get open() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.startPings();
      this.emit('status', { open: true });
    });
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this.pingTimer);
      this.failPending();
      if (FINAL_CODES.has(event.code)) this.stopped = true;
      this.emit('status', { open: false, code: event.code, final: this.stopped });
      this.scheduleRetry();
    });
  }

  scheduleRetry() {
    if (this.stopped) return;
    const delay = RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)];
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  retryNow() {
    if (this.socket === null && !this.stopped) this.connect();
  }

  /** The page goes away: close at once, so the server need not wait for missed pings. */
  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.socket) this.socket.close(1000);
  }

  startPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: 'ping' }), this.pingSeconds * 1000);
  }

  send(message) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify({ v: VERSION, ...message }));
    return true;
  }

  nextRef(prefix = 'p') {
    this.seq += 1;
    return `${prefix}${this.seq}`;
  }

  /** Send with a `ref`; resolves with the answer of type `expect`, rejects on `error`. */
  request(message, expect) {
    const ref = this.nextRef();
    return new Promise((resolve, reject) => {
      if (!this.send({ ...message, ref })) {
        reject(new PeopleError('connection.closed', 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new PeopleError('timeout', 'no answer'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(ref, { resolve, reject, timer, expect });
    });
  }

  /** Send with a `ref` and no answer expected; a refusal goes to `onError`. */
  tell(message, onError) {
    const ref = this.nextRef();
    const sent = this.send({ ...message, ref });
    if (sent) {
      const timer = setTimeout(() => this.pending.delete(ref), REQUEST_TIMEOUT_MS);
      this.pending.set(ref, { onError, timer });
    } else {
      onError(new PeopleError('connection.closed', 'not connected'));
    }
    return sent;
  }

  failPending() {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      const error = new PeopleError('connection.closed', 'connection closed');
      if (entry.reject) entry.reject(error);
    }
    this.pending.clear();
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== 'object') return;
    if (message.type === 'ping') {
      // The server asks a quiet page (a hidden tab's timers may sleep for a minute).
      this.send({ type: 'ping' });
      return;
    }
    const entry = message.ref ? this.pending.get(message.ref) : null;
    if (entry) {
      if (message.type === 'error') {
        this.pending.delete(message.ref);
        clearTimeout(entry.timer);
        const error = new PeopleError(message.code || 'error', message.detail ?? message.message, message);
        if (entry.reject) entry.reject(error);
        else entry.onError?.(error);
        return;
      }
      if (!entry.expect || message.type === entry.expect) {
        // Answered (a told message's answer needs nothing more than handle() below).
        this.pending.delete(message.ref);
        clearTimeout(entry.timer);
        entry.resolve?.(message);
      }
    }
    try {
      this.handle(message);
    } catch (error) {
      console.error('confero: people message failed', message.type, error);
    }
  }

  /** One message of the server (after any request waiting for it was answered). */
  handle() {}

  /** The server's ping interval (the `welcome`'s `ping`, seconds). */
  setPing(seconds) {
    if (typeof seconds !== 'number' || !(seconds > 0)) return;
    this.pingSeconds = seconds;
    if (this.open) this.startPings();
  }
}
