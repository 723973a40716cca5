// connection.js -- one tidegate WebSocket at a time: connects, decodes frames, pings,
// and reconnects by itself with backoff, resuming where the page left off.
//
// The owner supplies `params()` (the query of the next /ws URL: room, since, name) and
// callbacks; this class knows nothing of the DOM. States: 'connecting', 'open',
// 'waiting' (a reconnect is scheduled), 'stopped'.

const kPingEveryMs = 4000;
const kFirstPingMs = 300; // after the replay of a resume has been read, so the RTT is the network's
const kPingDeadMs = 12000; // no pong for this long: the socket is dead, drop it
const kBackoffFirstMs = 500;
const kBackoffMaxMs = 10000;

export class Connection {
  #codec;
  #params;
  #on;
  #ws = null;
  #state = 'stopped';
  #attempt = 0;
  #retryTimer = 0;
  #retryAt = 0;
  #pingTimer = 0;
  #firstPingTimer = 0;
  #pingId = 0;
  #pingSentAt = new Map(); // id -> performance.now()

  // codec: a Codec. params(): {room, since, name} for the next connect (null values are
  // left out). on: {state(info), message(obj), pong({rtt, windowMs}), decodeError(err)}.
  constructor({ codec, params, on }) {
    this.#codec = codec;
    this.#params = params;
    this.#on = on;
  }

  get state() {
    return this.#state;
  }

  // The sub-protocol the server picked for the current socket ('' before open).
  get protocol() {
    return this.#ws?.protocol ?? '';
  }

  start() {
    if (this.#state === 'connecting' || this.#state === 'open') return;
    this.#connect();
  }

  // Skips the rest of a backoff wait (e.g. the user pressed "Retry now").
  retryNow() {
    if (this.#state !== 'waiting') return;
    clearTimeout(this.#retryTimer);
    this.#connect();
  }

  // Drops the current socket (if any) and connects again at once, resuming.
  restart(reason = 'restart') {
    this.#drop(reason);
    clearTimeout(this.#retryTimer);
    this.#connect();
  }

  // Sends one object as a text frame. Returns false (and sends nothing) when not open.
  send(obj) {
    if (this.#state !== 'open' || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(obj));
    return true;
  }

  // Called by the owner once the server's hello arrived: the connection is good, so the
  // next outage starts its backoff from the beginning again.
  markHealthy() {
    this.#attempt = 0;
  }

  stop() {
    this.#drop('stopped');
    clearTimeout(this.#retryTimer);
    this.#setState({ state: 'stopped' });
  }

  #url() {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(this.#params() ?? {})) {
      if (v !== null && v !== undefined && v !== '') query.set(k, String(v));
    }
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const qs = query.toString();
    return `${scheme}://${location.host}/ws${qs ? '?' + qs : ''}`;
  }

  #connect() {
    let ws;
    try {
      ws = new WebSocket(this.#url(), this.#codec.protocols());
    } catch (err) {
      this.#scheduleRetry({ reason: String(err?.message ?? err) });
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    this.#setState({ state: 'connecting', attempt: this.#attempt });
    ws.onopen = () => {
      this.#codec.begin(ws.protocol);
      this.#setState({ state: 'open', protocol: ws.protocol });
      this.#startPings();
    };
    ws.onmessage = (ev) => this.#receive(ev.data);
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#detach();
      this.#scheduleRetry({ code: ev.code, reason: ev.reason });
    };
    ws.onerror = () => {}; // always followed by close (WHATWG WebSockets, "fail the connection")
  }

  #receive(data) {
    let obj;
    try {
      obj = this.#codec.decode(data);
    } catch (err) {
      // A frame we cannot read could hide messages: reconnect and resume from the last
      // seq we did read, one step down (v2 to v1, v1 to JSON) if zstd is what failed.
      this.#on.decodeError?.(err);
      if (typeof data !== 'string') this.#codec.disableZstd();
      this.#drop('decode error');
      this.#scheduleRetry({ reason: 'unreadable frame' });
      return;
    }
    if (obj.t === 'pong') {
      const sentAt = this.#pingSentAt.get(obj.id);
      if (sentAt !== undefined) {
        this.#pingSentAt.clear(); // older pings are answered by implication (in order)
        this.#on.pong?.({ rtt: performance.now() - sentAt, windowMs: Number(obj.window_ms) });
      }
      return;
    }
    this.#on.message(obj);
  }

  #startPings() {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#firstPingTimer);
    const tick = () => {
      const now = performance.now();
      for (const sentAt of this.#pingSentAt.values()) {
        if (now - sentAt > kPingDeadMs) {
          this.#drop('ping timeout');
          this.#scheduleRetry({ reason: 'no answer to ping' });
          return;
        }
      }
      const id = ++this.#pingId;
      if (this.send({ t: 'ping', id })) this.#pingSentAt.set(id, now);
    };
    this.#pingTimer = setInterval(tick, kPingEveryMs);
    this.#firstPingTimer = setTimeout(tick, kFirstPingMs);
  }

  #detach() {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#firstPingTimer);
    this.#pingSentAt.clear();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    return ws;
  }

  #drop(reason) {
    const ws = this.#detach();
    if (ws && ws.readyState <= WebSocket.OPEN) {
      try {
        ws.close(1000, reason.slice(0, 100));
      } catch {
        /* already closing */
      }
    }
  }

  #scheduleRetry(info) {
    const base = Math.min(kBackoffMaxMs, kBackoffFirstMs * 2 ** this.#attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5)); // jitter: no thundering herd
    this.#attempt += 1;
    this.#retryAt = Date.now() + delay;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
    this.#setState({ state: 'waiting', delay, retryAt: this.#retryAt, attempt: this.#attempt, ...info });
  }

  #setState(info) {
    this.#state = info.state;
    this.#on.state?.(info);
  }
}
