// The live socket: one per page. Commands are matched to replies by `ref`; public
// events are applied in `seq` order; a lost connection comes back with exponential
// backoff and jitter, asking for the events it missed (`?epoch=E&since=N`).

const COMMAND_TIMEOUT_MS = 10000;
const HEARTBEAT_MS = 20000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 20000;

export class LiveError extends Error {
  constructor(code, message, details) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export class LiveSocket {
  constructor(path, { onSnapshot, onEvent, onStatus, params = {} }) {
    this.path = path;
    this.params = params; // sent on every (re)connection, e.g. the widget's guest token
    this.onSnapshot = onSnapshot;
    this.onEvent = onEvent;
    this.onStatus = onStatus || (() => {});
    this.epoch = null;
    this.seq = 0;
    this.attempt = 0;
    this.nextRef = 1;
    this.pending = new Map();
    this.ws = null;
    this.stopped = false;
    this.heartbeat = null;
    this.retryTimer = null;
    window.addEventListener('online', () => this.reconnectNow());
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = new URLSearchParams(this.params);
    if (this.epoch) {
      query.set('epoch', this.epoch);
      query.set('since', String(this.seq));
    }
    const search = query.toString();
    return `${scheme}://${location.host}${this.path}${search ? `?${search}` : ''}`;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onmessage = (message) => this.receive(message.data);
    ws.onclose = (event) => this.closed(ws, event);
    ws.onopen = () => {
      this.startHeartbeat();
    };
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === 'ack' || frame.type === 'error') {
      this.settle(frame);
      return;
    }
    if (this.attempt) this.onStatus('connected');
    this.attempt = 0;
    if (frame.type === 'snapshot') {
      this.epoch = frame.epoch;
      this.seq = frame.seq;
      this.onStatus('connected');
      this.onSnapshot(frame);
      return;
    }
    if (typeof frame.seq === 'number') {
      if (frame.seq <= this.seq) return; // already applied
      if (frame.seq !== this.seq + 1) {
        // A gap: something was lost on the way. Reconnect and replay from our seq.
        this.reconnectNow();
        return;
      }
      this.seq = frame.seq;
    }
    this.onEvent(frame);
  }

  settle(frame) {
    const waiting = this.pending.get(frame.ref);
    if (!waiting) return;
    this.pending.delete(frame.ref);
    clearTimeout(waiting.timer);
    if (frame.type === 'ack') waiting.resolve(frame);
    else waiting.reject(new LiveError(frame.code, frame.message, frame.details));
  }

  send(type, fields = {}) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new LiveError('offline', 'Not connected. Trying again…'));
        return;
      }
      const ref = String(this.nextRef++);
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new LiveError('timeout', 'The server did not answer in time.'));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...fields, type, ref }));
    });
  }

  startHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      this.send('ping').catch((error) => {
        if (error.code === 'timeout') this.reconnectNow();
      });
    }, HEARTBEAT_MS);
  }

  reconnectNow() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      this.attempt = Math.max(this.attempt, 1);
      this.ws.close(4000, 'resync');
    } else if (!this.stopped) {
      this.connect();
    }
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    clearInterval(this.heartbeat);
    for (const [ref, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new LiveError('offline', 'The connection was lost.'));
      this.pending.delete(ref);
    }
    if (this.stopped) return;
    if (event.code === 4403) {
      // Taken out of the broadcast (the server said why just before): do not come back.
      this.stopped = true;
      this.onStatus('removed');
      return;
    }
    const delay = event.code === 4000 ? 0 : this.backoff();
    this.attempt += 1;
    this.onStatus('reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  backoff() {
    // Full jitter: a crowd that lost the server together does not come back together.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000, 'bye');
  }
}
