// The WebSocket of docs/SIGNALING.md: one JSON object per message, "v": 1.
// Reconnects by itself with a growing pause, and tells the page its state so the page can
// say "cannot connect" and rejoin (F-EN7) once the socket is back.

const VERSION = 1;
const REQUEST_TIMEOUT_MS = 10000;
const RETRY_MS = [1000, 2000, 4000, 8000, 15000];
const PING_MS = 25000;
/** Close codes of src/confero/web/ws.py after which trying again cannot help. */
const FINAL_CODES = new Set([4403, 4404]);
/** ws.py's MOVED: the room runs on another node of the cluster; connecting again reaches
 * it (the server forwards the new socket there), so at once, not after a pause. */
const MOVED = 4421;
/** A second MOVED sooner than this waits its turn like any other close (no tight loop). */
const MOVED_AGAIN_MS = 5000;

export class RequestError extends Error {
  constructor(code, detail, message = {}) {
    super(detail || code);
    this.code = code;
    this.detail = detail;
    this.payload = message;
  }
}

export class Signaling extends EventTarget {
  /** `commands`: the names the server takes (the room page's config, from the
   * server's command contract); a name outside it is refused here, not sent. */
  constructor(path, commands = null) {
    super();
    this.path = path;
    this.commands = commands ? new Set(commands) : null;
    this.socket = null;
    this.attempt = 0;
    this.seq = 0;
    this.pending = new Map(); // ref -> {resolve, reject, timer}
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.movedAt = -Infinity;
  }

  get url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${this.path}`;
  }

  get open() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.emit('status', { state: 'connecting', attempt: this.attempt });
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      clearInterval(this.pingTimer);
      // Keeps proxies from closing a quiet socket (the server answers `pong`).
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_MS);
      this.emit('status', { state: 'open' });
      this.emit('open', {});
    });
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this.pingTimer);
      this.failPending('connection.closed');
      const final = FINAL_CODES.has(event.code);
      if (final) this.stopped = true;
      const moved = event.code === MOVED;
      this.emit('closed', { code: event.code, final, moved });
      if (moved && Date.now() - this.movedAt > MOVED_AGAIN_MS) {
        this.movedAt = Date.now();
        this.connect();
      } else {
        this.scheduleRetry();
      }
    });
    // 'error' is always followed by 'close'; nothing to do here.
  }

  scheduleRetry() {
    if (this.stopped) return;
    const delay = RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)];
    this.attempt += 1;
    this.emit('status', { state: 'retrying', delay, attempt: this.attempt });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Try again now (e.g. the browser says it is online again). */
  retryNow() {
    if (this.socket === null && !this.stopped) this.connect();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close(1000);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn('confero: not JSON from the server', data);
      return;
    }
    if (!message || typeof message !== 'object') return;
    const ref = message.ref;
    if (ref && this.pending.has(ref) && (message.type === 'result' || message.type === 'error')) {
      const { resolve, reject, timer } = this.pending.get(ref);
      this.pending.delete(ref);
      clearTimeout(timer);
      if (message.type === 'error' || message.ok === false) {
        reject(new RequestError(message.code || 'error', message.detail, message));
      } else {
        resolve(message);
      }
      return;
    }
    this.emit('message', message);
  }

  /** Send one message; false when the socket is not open. */
  send(message) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify({ v: VERSION, ...message }));
    return true;
  }

  nextRef(prefix = 'r') {
    this.seq += 1;
    return `${prefix}${this.seq}`;
  }

  /** Send with a `ref` and wait for its `result` (resolves) or `error` (rejects). */
  request(message, timeoutMs = REQUEST_TIMEOUT_MS) {
    const ref = message.ref || this.nextRef();
    return new Promise((resolve, reject) => {
      if (!this.send({ ...message, ref })) {
        reject(new RequestError('connection.closed', 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new RequestError('timeout', 'no answer'));
      }, timeoutMs);
      this.pending.set(ref, { resolve, reject, timer });
    });
  }

  /** A command of the keypad table: {"type":"command","command":name,...}. */
  command(name, fields = {}) {
    if (this.commands && !this.commands.has(name)) {
      return Promise.reject(new RequestError('command.unknown', `unknown command ${name}`));
    }
    return this.request({ type: 'command', command: name, ...fields });
  }

  failPending(code) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new RequestError(code, 'connection closed'));
    }
    this.pending.clear();
  }
}
