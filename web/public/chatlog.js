// chatlog.js -- renders the message flow into an <ol>: chat messages, join/leave/rename
// events and notices, with a bounded number of rows so a long session does not grow
// memory without end.
//
// Everything that came from the network is inserted with textContent or as a text
// node, never as HTML: another user's "<img onerror=...>" is just text here.

const kGroupMs = 5 * 60 * 1000; // consecutive messages of one sender within this share a header

export class ChatLog {
  #list;
  #scroller;
  #maxRows;
  #isOwn;
  #stuck = true;
  #last = null; // {from, ts, day} of the last message row, for grouping
  #lastDay = '';
  #timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  #fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });
  #dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });

  // list: the <ol>; scroller: the element that scrolls; maxRows: the DOM bound;
  // isOwn(msg): whether a chat message is this page's own.
  constructor({ list, scroller, maxRows, isOwn }) {
    this.#list = list;
    this.#scroller = scroller;
    this.#maxRows = Math.max(10, maxRows | 0);
    this.#isOwn = isOwn;
    // A view that sits at the bottom stays there when it changes size (the composer
    // grows, a phone keyboard opens, the status line changes).
    scroller.addEventListener('scroll', () => (this.#stuck = this.atBottom()), { passive: true });
    new ResizeObserver(() => {
      if (this.#stuck) this.scrollToBottom();
    }).observe(scroller);
  }

  get rowCount() {
    return this.#list.childElementCount;
  }

  // The newest row (a notice may be replaced by one that extends it), or null.
  get lastRow() {
    return this.#list.lastElementChild;
  }

  clear() {
    this.#list.replaceChildren();
    this.#last = null;
    this.#lastDay = '';
  }

  // Whether the view is (nearly) at the bottom, i.e. new rows should scroll into view.
  atBottom() {
    const s = this.#scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
  }

  scrollToBottom() {
    this.#scroller.scrollTop = this.#scroller.scrollHeight;
    this.#stuck = true;
  }

  // Appends one batch message (t: msg, join, leave, name). Unknown kinds are ignored.
  addMessage(msg) {
    const kind = msg.t ?? 'msg';
    if (kind === 'msg') return this.#addChat(msg);
    const who = String(msg.from ?? '?');
    if (kind === 'join') return this.#addEvent(msg, 'join', [this.#name(who), ' joined']);
    if (kind === 'leave') return this.#addEvent(msg, 'leave', [this.#name(who), ' left']);
    if (kind === 'name') {
      const old = String(msg.old ?? '?');
      return this.#addEvent(msg, 'name', [this.#name(old), ' is now ', this.#name(who)]);
    }
    return null;
  }

  // Appends a notice of the page itself (level: info, warn, error).
  addNotice(text, level = 'info', kind = 'notice') {
    const li = el('li', `row notice ${level}`);
    li.dataset.kind = kind;
    li.append(el('span', 'notice-text', text));
    this.#append(li);
    this.#last = null;
    return li;
  }

  #addChat(msg) {
    const from = String(msg.from ?? '?');
    const ts = Number(msg.ts) || Date.now();
    const own = this.#isOwn(msg);
    this.#maybeDay(ts);
    const grouped = this.#last && this.#last.from === from && ts - this.#last.ts < kGroupMs;

    const li = el('li', 'row msg');
    li.dataset.kind = 'msg';
    li.dataset.seq = String(msg.seq ?? '');
    li.dataset.from = from;
    if (own) li.classList.add('own');
    if (grouped) li.classList.add('cont');

    const avatar = el('span', 'avatar', initial(from));
    avatar.style.setProperty('--hue', String(hue(from)));
    avatar.setAttribute('aria-hidden', 'true');

    // The sender heads a group of messages; every bubble carries its own time.
    const head = el('div', 'head');
    head.append(el('span', 'from', from));
    const bubble = el('div', 'bubble');
    bubble.append(el('span', 'text', String(msg.text ?? '')), this.#time(ts));

    const body = el('div', 'body');
    body.append(head, bubble);
    li.append(avatar, body);

    this.#append(li);
    this.#last = { from, ts };
    return li;
  }

  #addEvent(msg, kind, parts) {
    const ts = Number(msg.ts) || Date.now();
    this.#maybeDay(ts);
    const li = el('li', `row event ${kind}`);
    li.dataset.kind = kind;
    li.dataset.seq = String(msg.seq ?? '');
    const line = el('span', 'event-text');
    line.append(...parts);
    li.append(line, this.#time(ts));
    this.#append(li);
    this.#last = null;
    return li;
  }

  #maybeDay(ts) {
    const d = new Date(ts);
    const day = `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
    if (day === this.#lastDay) return;
    const first = this.#lastDay === '';
    this.#lastDay = day;
    if (first && this.rowCount === 0 && isToday(d)) return; // a lone "Today" adds nothing
    const li = el('li', 'row day');
    li.dataset.kind = 'day';
    li.append(el('span', '', isToday(d) ? 'Today' : this.#dayFmt.format(d)));
    this.#append(li);
    this.#last = null;
  }

  #time(ts) {
    const t = el('time', 'ts', this.#timeFmt.format(ts));
    const d = new Date(ts);
    t.dateTime = d.toISOString();
    t.title = this.#fullFmt.format(d);
    return t;
  }

  #name(name) {
    return el('b', 'who', name);
  }

  #append(li) {
    this.#list.append(li);
    // The bound: drop the oldest rows. A continued message that lost its header row
    // becomes the head of its group again.
    let excess = this.#list.childElementCount - this.#maxRows;
    while (excess-- > 0) this.#list.firstElementChild.remove();
    this.#list.firstElementChild?.classList.remove('cont');
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function initial(name) {
  const ch = [...name.trim()][0] ?? '?';
  return ch.toUpperCase();
}

// A stable hue per name, so a person keeps their colour.
export function hue(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return (h >>> 0) % 360;
}

function isToday(d) {
  const now = new Date();
  return d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
}
