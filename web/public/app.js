// app.js -- the tidegate chat page: wires the connection (connection.js), the frame
// codec (codec.js) and the message flow (chatlog.js) to the DOM in index.html.
//
// Protocol: docs/PROTOCOL.md. One socket, one current room. The page remembers the
// last message seq it showed, so a reconnect resumes with ?since= and loses nothing
// the server still holds; what it no longer holds arrives as a `gap` and is shown.

import { Codec } from './codec.js';
import { Connection } from './connection.js';
import { ChatLog } from './chatlog.js';

const kMaxRows = 500; // DOM bound; tests may lower it through globalThis.tidegateConfig
const kMaxTextBytes = 4000;
const kNameRetries = 5; // a resumed name may still be held by our own dead socket
const kRoomPattern = /^[A-Za-z0-9_.-]{1,64}$/;
const kStoreName = 'tidegate.name';
const kStoreRooms = 'tidegate.rooms';
// The sign-in token (--auth): from the URL fragment, kept for this tab only. It leaves
// the page only as ?token= of the /ws URL (and the Authorization header of GET /auth).
const kStoreToken = 'tidegate.token';

const $ = (id) => document.getElementById(id);
const ui = {
  roomButton: $('room-button'), roomName: $('room-name'), online: $('online'),
  onlineCount: $('online-count'), meButton: $('me-button'), meName: $('me-name'),
  status: $('status'), statusText: $('status-text'), metrics: $('status-metrics'),
  retry: $('retry'), scroller: $('log-wrap'), log: $('log'), jump: $('jump'),
  composer: $('composer'), input: $('input'), send: $('send'), composerError: $('composer-error'),
  dialog: $('join-dialog'), form: $('join-form'), nameInput: $('name-input'),
  roomInput: $('room-input'), roomList: $('room-list'), joinError: $('join-error'),
  joinSubmit: $('join-submit'), joinCancel: $('join-cancel'), joinTitle: $('join-title'),
};

const state = {
  started: false,
  ready: false, // hello received on the current socket
  everReady: false,
  outage: null, // the close info of an unexpected disconnect, until the next hello
  room: initialRoom(),
  pendingRoom: null, // a join sent, not yet confirmed by `joined`
  myName: null, // the name the server says we have
  confirmedName: null, // the last name we chose that the server accepted
  claim: null, // {name, source: 'user'|'saved'|'resume', tries}
  lastSeq: null, // last message seq of the current room shown (or skipped as known)
  sinceSent: null, // `since` of the current socket
  epoch: null, // hello's `epoch`: which run of the server our seqs belong to
  connSeq: null, // last message seq seen on the current socket (or its hello's/joined's seq)
  online: null,
  proto: '',
  rtt: null,
  windowMs: null,
  echoMs: null,
  cidPrefix: Math.random().toString(36).slice(2, 8),
  cidCount: 0,
  sent: new Map(), // cid -> performance.now() at send, until its echo
  lastText: null, // the last message sent, until it comes back
  unread: 0,
  token: takeHashToken(), // null: anonymous, as the page always was without one
  tokenSent: false, // the current socket was opened with the token
  sockOpened: false, // the current socket opened (a refused upgrade never does)
  refusal: null, // why the server will not let us in (401/403/expired): no more retries
  tokenExpired: false, // the server said token_expired: its close ends the session
};

const codec = new Codec();
const chat = new ChatLog({
  list: ui.log,
  scroller: ui.scroller,
  maxRows: globalThis.tidegateConfig?.maxRows ?? kMaxRows,
  isOwn: (m) => (m.cid !== undefined && state.sent.has(m.cid)) || m.from === state.myName,
});
const conn = new Connection({ codec, params: connectParams, on: {
  state: onConnState,
  message: onMessage,
  pong: ({ rtt, windowMs }) => { state.rtt = rtt; state.windowMs = windowMs; renderStatus(); },
  decodeError: (err) => console.warn('tidegate: unreadable frame, reconnecting:', err),
} });
const codecReady = codec.load();

// ---- connecting ------------------------------------------------------------------

function connectParams() {
  state.ready = false;
  state.connSeq = null;
  state.sinceSent = state.lastSeq ?? 0; // 0 on a fresh view: show what the log still holds
  const name = state.confirmedName ?? state.claim?.name ?? null;
  if (name && state.confirmedName) state.claim = { name, source: 'resume', tries: 0 };
  // `epoch` tells the server which of its runs `since` counts in: a restarted server
  // (seqs start over) then ignores a `since` that is not its own.
  const epoch = state.sinceSent > 0 ? state.epoch : null;
  state.tokenSent = state.token !== null;
  // With a token the name is the token's: none is asked for.
  if (state.token) return { room: state.room, since: state.sinceSent, epoch, token: state.token };
  return { room: state.room, since: state.sinceSent, epoch, name };
}

async function start() {
  state.started = true;
  await codecReady;
  conn.start();
}

function onConnState(info) {
  if (info.state === 'connecting') state.sockOpened = false;
  if (info.state === 'open') state.sockOpened = true;
  if (info.state === 'waiting' && state.tokenExpired) {
    refuse('expired', 'Your sign-in token has expired. Open the page with a new token to go on.');
    return;
  }
  if (info.state === 'waiting' && !state.sockOpened) checkRefusal();
  if (info.state === 'waiting') {
    state.ready = false;
    if (state.everReady && !state.outage) {
      state.outage = info;
      chat.addNotice(outageText(info), 'warn', 'disconnected');
      followBottom(true);
    }
  }
  renderStatus(info);
  renderHeader();
  renderComposer();
}

// A socket that never opened may have been refused (401/403) rather than unreachable:
// the page cannot see an upgrade's status, so it asks GET /auth, which answers as the
// upgrade did, with the reason.
async function checkRefusal() {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  let res;
  let text;
  try {
    res = await fetch(`/auth?room=${encodeURIComponent(state.room)}`, { headers, cache: 'no-store' });
    text = (await res.text()).trim();
  } catch {
    return; // unreachable: the reconnect goes on
  }
  if (res.status === 401) {
    const expired = /expired/.test(text);
    refuse(expired ? 'expired' : 'unauthorized', expired
      ? 'Your sign-in token has expired. Open the page with a new token to go on.'
      : state.token ? `Sign-in refused: ${text}.` : 'This chat needs a sign-in token (open the page with one).');
  } else if (res.status === 403) {
    refuse('forbidden', `#${state.room} is not open to you: ${text}.`);
  }
}

// The server will not let us in as we are: stop retrying, say why, and wait for a new
// token (a hash change) or another room.
function refuse(kind, text) {
  if (state.refusal?.kind === kind) return;
  state.refusal = { kind, text };
  conn.stop();
  chat.addNotice(text, 'error', `refused-${kind}`);
  followBottom(true);
  if (kind === 'forbidden') openDialog({ error: text, focus: 'room' });
  else if (ui.dialog.open) showDialogError(text);
  renderAll();
}

// A new token from the fragment: a signed-in socket refreshes (same user, new expiry
// and rooms); otherwise the page connects again with it.
function useToken(token) {
  state.token = token;
  state.tokenExpired = false;
  const refused = state.refusal !== null;
  state.refusal = null;
  if (state.ready && state.tokenSent) {
    conn.send({ t: 'refresh', token });
  } else if (state.started) {
    if (refused) chat.addNotice('Trying again with the new token…', 'info', 'auth');
    conn.restart('new token');
  } else {
    start();
  }
  renderAll();
}

function outageText(info) {
  if (info.code === 1001) return 'The server is restarting. Reconnecting…';
  if (info.code === 1008) return 'The server dropped this page for reading too slowly. Reconnecting…';
  if (info.code === 1009) return 'A message was too large for the server. Reconnecting…';
  return 'Connection lost. Reconnecting…';
}

// ---- server frames ---------------------------------------------------------------

function onMessage(m) {
  switch (m.t) {
    case 'hello': return onHello(m);
    case 'batch': return onBatch(m);
    case 'named': return onNamed(m.name);
    case 'joined': return onJoined(m);
    case 'gap': return onGap(m);
    case 'error': return onError(m);
    case 'refreshed':
      chat.addNotice('Sign-in renewed.', 'ok', 'refreshed');
      return followBottom(chat.atBottom());
    case 'left': return onLeft(m);
    default: return undefined; // `left` and anything newer: nothing to show
  }
}

function onHello(m) {
  state.ready = true;
  state.myName = String(m.name ?? '');
  state.proto = m.proto ? String(m.proto) : conn.protocol.replace(/^tidegate\.(v1\.)?/, '') || 'json';
  if (Number.isFinite(Number(m.window_ms))) state.windowMs = Number(m.window_ms);
  if (m.room && m.room !== state.room) switchView(String(m.room));
  conn.markHealthy();
  if (state.outage) {
    chat.addNotice('Reconnected.', 'ok', 'reconnected');
    state.outage = null;
  }
  const seq = Number(m.seq);
  const epoch = m.epoch === undefined ? null : String(m.epoch);
  const newRun = epoch !== null && state.epoch !== null && epoch !== state.epoch;
  if (epoch !== null) state.epoch = epoch;
  if (state.sinceSent > 0 && (newRun || (Number.isFinite(seq) && seq < state.sinceSent))) {
    // A fresh server (the log lives in memory): numbering starts again, and nothing
    // sent before the restart can be fetched any more.
    chat.addNotice('The server was restarted; messages from before that are not kept.', 'info', 'reset');
    state.lastSeq = null;
  }
  streamStartsAfter(seq);
  state.everReady = true;
  if (state.tokenSent) state.confirmedName = state.myName; // the token's: not chosen here
  const claim = state.claim;
  if (claim && state.myName === claim.name) onNamed(claim.name);
  if (state.pendingRoom) sendJoin(state.pendingRoom);
  followBottom(true);
  renderAll();
}

function onBatch(b) {
  if (b.room !== state.room) return; // a room we are leaving
  if (Number.isFinite(Number(b.online))) state.online = Number(b.online);
  const follow = chat.atBottom();
  let shown = 0;
  for (const msg of Array.isArray(b.msgs) ? b.msgs : []) {
    if (acceptSeq(Number(msg.seq))) {
      noteEcho(msg);
      if (chat.addMessage(msg)) shown++;
    }
  }
  if (document.hidden && shown) {
    state.unread += shown;
    renderTitle();
  }
  followBottom(follow);
  renderHeader();
}

// Decides whether a message is new, keeping lastSeq; notices a hole the server did not
// announce (message seqs of a room are consecutive, PROTOCOL.md).
function acceptSeq(seq) {
  if (!Number.isFinite(seq)) return true;
  const firstOnSocket = state.connSeq === null;
  if (!firstOnSocket && seq <= state.connSeq) return false; // a duplicate on one socket
  if (state.lastSeq !== null) {
    if (firstOnSocket && seq <= state.lastSeq) {
      chat.addNotice('The server was restarted; messages from before that are not kept.', 'info', 'reset');
    } else if (seq > state.lastSeq + 1) {
      const from = state.lastSeq + 1;
      chat.addNotice(`Missed ${countText(seq - from)} (#${from}–#${seq - 1}).`, 'warn', 'missed');
    }
  }
  state.connSeq = seq;
  state.lastSeq = seq;
  return true;
}

// The stream of the current room carries what comes after `seq` (hello's or joined's):
// anything at or below it is already shown. Over tidegate.v2.zstd the gateway starts a
// resumed or joined stream at the latest keyframe at or before the page's position, so
// the first batches repeat messages the page has; without this they would be shown
// again, under a notice that the server was restarted.
function streamStartsAfter(seq) {
  if (Number.isFinite(seq)) state.connSeq = seq;
}

function onGap(g) {
  if (g.room !== state.room) return;
  let from = Number(g.from);
  const to = Number(g.to);
  let fresh = state.lastSeq === null || state.lastSeq === 0;
  // Over tidegate.v2.zstd one hole can be told in two gaps: what the log no longer holds,
  // then what was skipped up to the next keyframe the page can start decoding at. The
  // second continues the notice just shown: one hole, one notice.
  const prev = chat.lastRow;
  if (prev?.dataset.kind === 'gap' && Number(prev.dataset.to) + 1 === from) {
    from = Number(prev.dataset.from);
    fresh = prev.classList.contains('info');
    prev.remove();
  }
  const n = to - from + 1;
  const text = fresh
    ? `Older messages are no longer kept by the server (${countText(n)}).`
    : `${countText(n)} (#${from}–#${to}) could not be delivered: this page fell further behind than the server keeps history.`;
  const li = chat.addNotice(text, fresh ? 'info' : 'warn', 'gap');
  li.dataset.from = String(from);
  li.dataset.to = String(to);
  if (Number.isFinite(to)) {
    state.lastSeq = Math.max(state.lastSeq ?? 0, to);
    state.connSeq = state.connSeq === null ? null : Math.max(state.connSeq, to);
  }
  followBottom(chat.atBottom());
}

function onError(e) {
  const code = String(e.code ?? '');
  const reason = String(e.reason ?? code);
  const claim = state.claim;
  if ((code === 'name_taken' || code === 'bad_name') && claim) {
    if (claim.source === 'resume' && code === 'name_taken' && claim.tries < kNameRetries) {
      // Our previous socket may not be gone on the server yet; ask again shortly.
      claim.tries += 1;
      setTimeout(() => {
        if (state.claim === claim && state.ready) conn.send({ t: 'name', name: claim.name });
      }, 800 * 2 ** claim.tries);
      return;
    }
    state.claim = null;
    const text = code === 'name_taken'
      ? `“${claim.name}” is already taken. Please pick another name.`
      : `“${claim.name}” cannot be used as a name: ${reason}`;
    openDialog({ error: text, focus: 'name' });
    renderAll();
    return;
  }
  if (code === 'token_expired') {
    state.tokenExpired = true; // the close that follows is not an outage
    return;
  }
  if (code === 'invalid_token') {
    chat.addNotice(`The new sign-in token was refused: ${reason}`, 'error', 'refused-token');
    return followBottom(chat.atBottom());
  }
  if (code === 'forbidden' && claim) {
    // --auth optional: without a token the server hands out guest names only.
    state.claim = null;
    state.confirmedName = state.myName;
    closeDialog();
    chat.addNotice(`Names come with a sign-in token here; you are ${state.myName}.`, 'info', 'forbidden-name');
    renderAll();
    return followBottom(true);
  }
  if (code === 'forbidden' && state.pendingRoom) {
    const room = state.pendingRoom;
    state.pendingRoom = null;
    openDialog({ error: `#${room} is not open to you: ${reason}`, focus: 'room' });
    return;
  }
  if (code === 'forbidden') {
    chat.addNotice(`Not allowed: ${reason}`, 'error', 'forbidden');
    return followBottom(chat.atBottom());
  }
  if (code === 'bad_room' || code === 'too_many_rooms') {
    state.pendingRoom = null;
    openDialog({ error: `That room cannot be joined: ${reason}`, focus: 'room' });
    return;
  }
  if (code === 'shutting_down' && state.lastText !== null && !ui.input.value) {
    // The server is going away and dropped what we just sent: give it back.
    ui.input.value = state.lastText;
    autosize();
    showComposerError('The server is restarting and did not take your message; send it again in a moment.');
    return;
  }
  chat.addNotice(`The server refused: ${reason}`, 'error', 'error');
  followBottom(chat.atBottom());
}

function onNamed(name) {
  state.myName = String(name);
  state.confirmedName = state.myName;
  state.claim = null;
  store(kStoreName, state.myName);
  if (ui.dialog.open && !state.pendingRoom) closeDialog();
  renderAll();
}

function onJoined(j) {
  const room = String(j.room ?? '');
  if (room !== state.pendingRoom) {
    // Unasked (cluster mode): the room's log was lost on the server and its seqs start
    // over after `seq` in a new epoch; what follows is new, not a duplicate.
    const epoch = j.epoch === undefined ? null : String(j.epoch);
    if (room === state.room && epoch !== null && epoch !== state.epoch) {
      state.epoch = epoch;
      state.lastSeq = Number(j.seq);
      state.connSeq = Number(j.seq);
      chat.addNotice('The server lost this room\'s history; new messages continue below.', 'info', 'reset');
    }
    return;
  }
  const old = state.room;
  state.pendingRoom = null;
  // The room's epoch (in cluster mode every room has its own): a resume after a
  // reconnect must name this room's, not the one of the room the page was in before.
  if (j.epoch !== undefined) state.epoch = String(j.epoch);
  switchView(room);
  streamStartsAfter(Number(j.seq));
  if (old && old !== room) conn.send({ t: 'leave', room: old });
  if (ui.dialog.open && !state.claim) closeDialog();
  renderAll();
}

// The server took us out of a room (a refreshed token no longer allows it).
function onLeft(m) {
  const room = String(m.room ?? '');
  if (room !== state.room) return;
  chat.addNotice(`You are no longer allowed in #${room}.`, 'warn', 'left');
  followBottom(true);
}

function switchView(room) {
  state.room = room;
  state.lastSeq = null;
  state.connSeq = null;
  state.online = null;
  chat.clear();
  rememberRoom(room);
  if (location.hash !== '#' + room) history.replaceState(null, '', '#' + room);
}

function sendJoin(room) {
  state.pendingRoom = room;
  conn.send({ t: 'join', room, since: 0 });
}

function noteEcho(msg) {
  if (msg.cid === undefined) return;
  const sentAt = state.sent.get(msg.cid);
  if (sentAt === undefined) return;
  state.echoMs = performance.now() - sentAt;
  state.lastText = null;
  // Keep the cid: isOwn() still needs it for this row; trim old ones instead.
  if (state.sent.size > 200) state.sent.delete(state.sent.keys().next().value);
}

// ---- the user's actions ----------------------------------------------------------

function sendMessage() {
  const text = ui.input.value.replace(/^\s+|\s+$/g, '');
  if (!text) return;
  if (new TextEncoder().encode(text).length > kMaxTextBytes) {
    showComposerError(`That message is too long (at most ${kMaxTextBytes} bytes).`);
    return;
  }
  const cid = `${state.cidPrefix}-${++state.cidCount}`;
  state.sent.set(cid, performance.now());
  if (!state.ready || !conn.send({ t: 'msg', room: state.room, text, cid })) {
    state.sent.delete(cid);
    showComposerError('Not connected right now; your message is kept here.');
    return;
  }
  state.lastText = text;
  ui.input.value = '';
  autosize();
  showComposerError('');
  chat.scrollToBottom();
}

function submitDialog(ev) {
  ev.preventDefault();
  // Signed in, the name is the token's: only the room can change here.
  const name = state.token ? state.myName : ui.nameInput.value.trim();
  const room = ui.roomInput.value.trim().replace(/^#/, '');
  const problem = (state.token ? null : nameProblem(name)) ?? (kRoomPattern.test(room) ? null
    : 'Room names are 1–64 letters, digits, “_”, “-” or “.”.');
  if (problem) return showDialogError(problem);
  showDialogError('');
  const nameChange = !state.token && name !== state.myName;
  const roomChange = room !== state.room;
  if (!state.started) {
    state.claim = { name, source: 'user', tries: 0 };
    if (roomChange) switchView(room);
    setJoining(true);
    start();
    return;
  }
  if (!nameChange && !roomChange) return closeDialog();
  if (state.refusal && roomChange) {
    // Refused for the room: try the one asked for now.
    state.refusal = null;
    switchView(room);
    setJoining(true);
    conn.restart('another room');
    return;
  }
  if (state.ready) {
    setJoining(true);
    if (nameChange) {
      state.claim = { name, source: 'user', tries: 0 };
      conn.send({ t: 'name', name });
    }
    if (roomChange) sendJoin(room);
  } else if (nameChange) {
    // Offline, a rename could not be checked against the other names; the reconnect
    // first takes back the name we have.
    showDialogError('You are offline right now; change your name once the connection is back.');
  } else {
    state.pendingRoom = room; // joined as soon as the connection is back
    closeDialog();
  }
}

function nameProblem(name) {
  if (!name) return 'Please type a name.';
  if (new TextEncoder().encode(name).length > 32) return 'That name is too long (at most 32 bytes).';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'Names cannot contain control characters.';
  if (name.startsWith('guest-')) return 'Names starting with “guest-” are kept for people without one.';
  return null;
}

// ---- dialog ----------------------------------------------------------------------

function openDialog({ error = '', focus = 'name' } = {}) {
  setJoining(false);
  const first = !state.confirmedName;
  ui.joinTitle.textContent = first ? 'Join the chat' : 'Change name or room';
  ui.joinSubmit.textContent = first ? 'Join' : 'Save';
  ui.joinCancel.hidden = first;
  if (!ui.dialog.open) {
    ui.nameInput.value = state.claim?.name ?? state.confirmedName ?? load(kStoreName) ?? '';
    ui.nameInput.disabled = Boolean(state.token); // the token's name
    ui.roomInput.value = state.pendingRoom ?? state.room;
    ui.dialog.showModal();
  }
  renderRoomList();
  showDialogError(error);
  const input = focus === 'room' ? ui.roomInput : ui.nameInput;
  input.focus();
  input.select();
}

function closeDialog() {
  setJoining(false);
  if (ui.dialog.open) ui.dialog.close();
  ui.input.focus();
}

function setJoining(on) {
  ui.joinSubmit.disabled = on;
  ui.form.classList.toggle('busy', on);
}

function showDialogError(text) {
  ui.joinError.textContent = text;
  ui.joinError.hidden = !text;
  if (text) setJoining(false);
}

function showComposerError(text) {
  ui.composerError.textContent = text;
  ui.composerError.hidden = !text;
}

// ---- rendering -------------------------------------------------------------------

function renderAll() {
  renderHeader();
  renderStatus();
  renderComposer();
  renderTitle();
}

function renderHeader() {
  ui.roomName.textContent = state.room;
  ui.meName.textContent = state.myName ?? '…';
  ui.meButton.hidden = !state.myName;
  ui.online.hidden = state.online === null || !state.ready; // a stale count says nothing
  ui.onlineCount.textContent = state.online === null ? '' : String(state.online);
  ui.online.title = state.online === null ? '' : `${state.online} in #${state.room}`;
}

let statusInfo = { state: 'stopped' };
let countdown = 0;
function renderStatus(info) {
  if (info) statusInfo = info;
  const s = statusInfo.state;
  const shown = s === 'open' && !state.ready ? 'connecting' : s;
  ui.status.dataset.state = shown;
  ui.status.dataset.proto = state.ready ? state.proto : '';
  ui.retry.hidden = s !== 'waiting';
  clearInterval(countdown);
  if (s === 'waiting') {
    const tick = () => {
      const secs = Math.max(0, Math.ceil((statusInfo.retryAt - Date.now()) / 1000));
      ui.statusText.textContent = secs > 0 ? `Offline · retrying in ${secs} s` : 'Offline · retrying…';
    };
    tick();
    countdown = setInterval(tick, 1000);
  } else if (shown === 'connecting') {
    ui.statusText.textContent = state.everReady ? 'Reconnecting…' : 'Connecting…';
  } else if (shown === 'open') {
    ui.statusText.textContent = 'Connected';
  } else {
    ui.statusText.textContent = 'Not connected';
  }
  ui.metrics.replaceChildren();
  if (shown !== 'open') return;
  const parts = [];
  if (state.rtt !== null) parts.push(['ping', `${Math.round(state.rtt)} ms`, 'rtt']);
  if (state.windowMs !== null && Number.isFinite(state.windowMs)) {
    parts.push(['window', `${fmtMs(state.windowMs)} ms`, 'window']);
  }
  if (state.echoMs !== null) parts.push(['echo', `${Math.round(state.echoMs)} ms`, 'echo']);
  parts.push(['', state.proto, 'proto']);
  for (const [label, value, key] of parts) {
    const span = document.createElement('span');
    span.className = 'metric';
    span.dataset.metric = key;
    if (label) {
      const l = document.createElement('span');
      l.className = 'label';
      l.textContent = label + ' ';
      span.append(l);
    }
    span.append(value);
    ui.metrics.append(span);
  }
}

function renderComposer() {
  const ok = state.ready;
  ui.send.disabled = !ok;
  ui.input.placeholder = ok ? `Message #${state.room}` : 'Waiting for the connection…';
  ui.composer.classList.toggle('offline', !ok);
}

function renderTitle() {
  const unread = document.hidden && state.unread ? `(${state.unread}) ` : '';
  document.title = `${unread}#${state.room} · tidegate`;
}

function followBottom(stick) {
  if (stick) {
    chat.scrollToBottom();
    ui.jump.hidden = true;
  } else {
    ui.jump.hidden = false;
  }
}

function renderRoomList() {
  const rooms = recentRooms();
  ui.roomList.replaceChildren(...rooms.map((r) => Object.assign(document.createElement('option'), { value: r })));
}

function fmtMs(ms) {
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

function countText(n) {
  return n === 1 ? '1 message' : `${n} messages`;
}

// ---- small helpers ---------------------------------------------------------------

function initialRoom() {
  const fromHash = parseHash().room ?? '';
  if (kRoomPattern.test(fromHash)) return fromHash;
  return recentRooms()[0] ?? 'lobby';
}

// The fragment: `#room`, `#room&token=T`, `#room=R&token=T` or `#token=T`.
function parseHash() {
  const out = { room: null, token: null };
  for (const part of location.hash.slice(1).split('&')) {
    const eq = part.indexOf('=');
    const value = (s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    if (eq < 0 && part) out.room = value(part);
    else if (part.slice(0, eq) === 'room') out.room = value(part.slice(eq + 1));
    else if (part.slice(0, eq) === 'token') out.token = value(part.slice(eq + 1)) || null;
  }
  return out;
}

// The token of the fragment, else the one this tab was given before. The fragment then
// keeps only the room: the address bar (and what is copied from it) shows no token.
function takeHashToken() {
  const { room, token } = parseHash();
  let kept = null;
  try {
    if (token) sessionStorage.setItem(kStoreToken, token);
    kept = token ?? sessionStorage.getItem(kStoreToken);
  } catch {
    kept = token; // storage disabled: this load only
  }
  if (token) history.replaceState(null, '', room ? '#' + encodeURIComponent(room) : location.pathname + location.search);
  return kept;
}

function recentRooms() {
  let rooms = [];
  try {
    rooms = JSON.parse(load(kStoreRooms) ?? '[]');
  } catch {
    rooms = [];
  }
  rooms = Array.isArray(rooms) ? rooms.filter((r) => typeof r === 'string' && kRoomPattern.test(r)) : [];
  if (!rooms.includes('lobby')) rooms.push('lobby');
  return rooms;
}

function rememberRoom(room) {
  const rooms = [room, ...recentRooms().filter((r) => r !== room)].slice(0, 12);
  store(kStoreRooms, JSON.stringify(rooms));
}

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled: the page still works, it just forgets
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* see load() */
  }
}

function autosize() {
  ui.input.style.height = 'auto';
  ui.input.style.height = Math.min(ui.input.scrollHeight, 160) + 'px';
}

// ---- wiring ----------------------------------------------------------------------

ui.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  sendMessage();
});
ui.input.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    sendMessage();
  }
});
ui.input.addEventListener('input', () => {
  autosize();
  if (!ui.composerError.hidden) showComposerError('');
});
ui.form.addEventListener('submit', submitDialog);
ui.joinCancel.addEventListener('click', () => {
  state.claim = state.claim?.source === 'user' ? null : state.claim;
  closeDialog();
});
ui.dialog.addEventListener('cancel', (ev) => {
  if (!state.confirmedName) ev.preventDefault(); // a name is needed before chatting
});
ui.roomButton.addEventListener('click', () => openDialog({ focus: 'room' }));
ui.meButton.addEventListener('click', () => openDialog({ focus: 'name' }));
ui.retry.addEventListener('click', () => conn.retryNow());
ui.jump.addEventListener('click', () => followBottom(true));
ui.scroller.addEventListener('scroll', () => {
  if (chat.atBottom()) ui.jump.hidden = true;
}, { passive: true });
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) state.unread = 0;
  renderTitle();
});
window.addEventListener('online', () => conn.retryNow());
window.addEventListener('hashchange', () => {
  const before = state.token;
  const token = takeHashToken();
  if (token && token !== before) useToken(token);
});

renderAll();
const saved = load(kStoreName);
if (state.token) {
  start(); // signed in: the name is the token's
} else if (saved && !nameProblem(saved)) {
  // A returning person: claim the saved name at once; a refusal opens the dialog.
  state.claim = { name: saved, source: 'saved', tries: 0 };
  start();
} else {
  openDialog();
}
