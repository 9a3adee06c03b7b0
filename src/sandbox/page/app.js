/**
 * Herald sandbox page: a Slack-like view of the sandbox's emulated workspace and of the simulated
 * social network. A plain browser module with no build step and no dependencies.
 *
 * Rules kept throughout: every piece of text from the server is put into the page as text nodes
 * (never innerHTML); re-renders reuse unchanged nodes and restore focus, so nothing a person is
 * typing (composers, modal fields, comment boxes) is ever wiped by a live update.
 */

// ---- DOM helpers ----

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Builds an element: attributes (on* = listeners, false/null skipped), then children (nodes or text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false || key === 'value') continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  if (attrs.value !== undefined && attrs.value !== null) el.value = attrs.value;
  return el;
}

const visuallyHidden = (text) => h('span', { class: 'visually-hidden' }, text);

/** Text of a Block Kit text object (or a plain string). */
const textOf = (obj) => (typeof obj === 'string' ? obj : (obj?.text ?? ''));

/** Only web and mail links become links; anything else (javascript:, data:) stays text. */
const safeUrl = (url) => /^(https?:|mailto:)/i.test(String(url ?? '').trim());

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Network handles with exactly one leading "@". */
const handle = (value) => `@${String(value ?? '').replace(/^@/, '')}`;

// ---- Local storage (may be unavailable: private modes throw) ----

const store = {
  get(key, session = false) {
    try { return (session ? sessionStorage : localStorage).getItem(key); } catch { return null; }
  },
  set(key, value, session = false) {
    try { (session ? sessionStorage : localStorage).setItem(key, value); } catch { /* storage unavailable */ }
  },
};
const KEYS = { tour: 'herald-sandbox-tour', user: 'herald-sandbox-user', channel: 'herald-sandbox-channel' };

// ---- Times ----

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const shortFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const numberFormat = new Intl.NumberFormat();

/** Orders Slack timestamps ("1700000000.000100") without float rounding. */
function cmpTs(a, b) {
  const [as, af = ''] = String(a).split('.');
  const [bs, bf = ''] = String(b).split('.');
  return Number(as) - Number(bs) || Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}
const tsDate = (ts) => new Date(Number(String(ts).split('.')[0]) * 1000);

/** ISO strings, epoch seconds or epoch milliseconds → Date. */
function toDate(value) {
  if (typeof value === 'number') return new Date(value < 1e12 ? value * 1000 : value);
  return new Date(value);
}

function timeEl(date, format = timeFormat) {
  if (Number.isNaN(date.getTime())) return null;
  return h('time', { datetime: date.toISOString(), title: fullFormat.format(date) }, format.format(date));
}

/** Date → the value of an <input type="datetime-local"> (local time, minutes). */
function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// ---- Server API ----

/** Fetches JSON; a failure becomes an Error carrying the server's human-readable message. */
async function request(path, options) {
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new Error('Could not reach the sandbox server. Is it still running?');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error || `The sandbox server answered ${response.status}.`);
  return body;
}

const post = (path, body) =>
  request(`/sandbox/api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Posts an action; errors become alert toasts. Resolves true on success. */
async function act(path, body, success) {
  try {
    await post(path, body);
    if (success) toast(success);
    scheduleRefresh(0);
    return true;
  } catch (err) {
    toast(err.message, 'error');
    return false;
  }
}

// ---- Page state ----

const ui = {
  state: null,
  me: store.get(KEYS.user),
  channelKey: store.get(KEYS.channel, true),
  /** The open thread: { channelId, ts }. */
  thread: null,
  /** channel id → latest top-level ts seen (for unread dots). */
  lastSeen: new Map(),
  composerDrafts: new Map(),
  /** Ephemerals hidden with Dismiss (client-side only). */
  dismissed: new Set(),
  /** The message whose More actions menu is open: { where, ts }. */
  openMenu: null,
  /** post id → text of its open comment box. */
  comments: new Map(),
  /** view id → Map(block id → typed value), so rebuilding a modal keeps what was typed. */
  modalDrafts: new Map(),
  closingViews: new Set(),
  modal: null,
  modalReturn: null,
  /** Version of the data that names things (directory, groups, channels); part of every message signature. */
  ctxJson: '',
  ctxVersion: 0,
  stick: { messages: true, 'thread-messages': true },
  sigs: new WeakMap(),
  booted: false,
};

const channelKey = (c) => (c.isIm ? 'dm' : c.name);
const channelLabel = (c) => (c.isIm ? 'Herald' : `#${c.name}`);
const channelById = (id) => ui.state.channels.find((c) => c.id === id);
const channelByName = (name) => ui.state.channels.find((c) => channelKey(c) === name);
const currentChannel = () => channelByName(ui.channelKey) ?? ui.state.channels[0];
const isReply = (m) => Boolean(m.thread_ts) && m.thread_ts !== m.ts;
const isBotMsg = (m) => Boolean(m.bot_id) || m.user === ui.state.bot.id;
const meUser = () => ui.state?.users.find((u) => u.id === ui.me);

function personName(id) {
  if (id === ui.state.bot.id) return ui.state.bot.name;
  const person = ui.state.directory[id];
  return person?.realName || person?.name || id || 'Someone';
}
const groupHandle = (id) => ui.state.userGroups.find((g) => g.id === id)?.handle;

// ---- Loading state (debounced, never two fetches at once, stale answers dropped) ----

let refreshTimer = 0;
let fetching = false;
let fetchAgain = false;
let failures = 0;

function scheduleRefresh(delay = 100) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, delay);
}

async function refresh() {
  if (fetching) { fetchAgain = true; return; }
  fetching = true;
  const user = ui.me;
  try {
    const query = user ? `?user=${encodeURIComponent(user)}` : '';
    const state = await request(`/sandbox/api/state${query}`);
    failures = 0;
    if (user === ui.me) applyState(state);
    else fetchAgain = true;
  } catch (err) {
    failures += 1;
    if (user && !ui.state && failures === 1) {
      ui.me = null; // a remembered user that no longer exists: ask for the default one
      fetchAgain = true;
    } else {
      toast(err.message, 'error');
      // The sandbox may be restarting (reset): try again, less and less often.
      setTimeout(() => scheduleRefresh(0), Math.min(1000 * failures, 10_000));
    }
  } finally {
    fetching = false;
    if (fetchAgain) { fetchAgain = false; scheduleRefresh(0); }
  }
}

function applyState(state) {
  const first = !ui.state;
  ui.state = state;
  ui.me = state.me;
  store.set(KEYS.user, state.me);
  const ctx = JSON.stringify([state.directory, state.userGroups, state.channels, state.shortcuts, state.bot]);
  if (ctx !== ui.ctxJson) { ui.ctxJson = ctx; ui.ctxVersion += 1; }
  if (first) for (const c of state.channels) ui.lastSeen.set(c.id, latestTopTs(c.id) ?? '0');
  if (!channelByName(ui.channelKey)) ui.channelKey = state.channels[0] ? channelKey(state.channels[0]) : null;
  for (const id of ui.closingViews) if (!state.views.some((v) => v.id === id)) ui.closingViews.delete(id);
  for (const id of ui.modalDrafts.keys()) if (!state.views.some((v) => v.id === id)) ui.modalDrafts.delete(id);
  renderAll();
  if (!ui.booted) { ui.booted = true; startTourOnLoad(); }
  tourCheck();
}

// ---- Rendering: keyed reconciliation and focus keeping ----

/**
 * Makes `container`'s children match `items` ({ key, sig, build }): a node whose key and signature
 * are unchanged is kept as it is (with its focus, selection and typed text), others are (re)built.
 */
function reconcile(container, items) {
  const old = new Map([...container.children].map((node) => [node.dataset.key, node]));
  const keep = new Set();
  let previous = null;
  for (const item of items) {
    let node = old.get(item.key);
    if (!node || ui.sigs.get(node) !== item.sig) {
      const fresh = item.build();
      fresh.dataset.key = item.key;
      ui.sigs.set(fresh, item.sig);
      if (node) node.replaceWith(fresh);
      node = fresh;
    }
    keep.add(node);
    const wanted = previous ? previous.nextElementSibling : container.firstElementChild;
    if (wanted !== node) container.insertBefore(node, wanted);
    previous = node;
  }
  for (const node of [...container.children]) if (!keep.has(node)) node.remove();
}

const FOCUS_ATTRS = ['data-action-id', 'data-callback-id', 'data-more-actions', 'data-open-thread', 'data-reply', 'data-dismiss',
  'data-net-action', 'data-comment-for', 'data-send-comment', 'data-channel', 'data-fill'];

/** A selector that finds "the same" control again after its node was rebuilt. */
function focusKey(el) {
  if (!el || el === document.body || el === document.documentElement) return null;
  if (el.id) return `#${CSS.escape(el.id)}`;
  const attr = FOCUS_ATTRS.find((a) => el.hasAttribute(a));
  let selector = el.tagName.toLowerCase() + (attr ? `[${attr}="${CSS.escape(el.getAttribute(attr))}"]` : '');
  const item = el.closest('[data-key]');
  if (item && item !== el) selector = `[data-key="${CSS.escape(item.dataset.key)}"] ${selector}`;
  const region = (item ?? el).parentElement?.closest('[id]');
  if (region) selector = `#${CSS.escape(region.id)} ${selector}`;
  return selector;
}

/** Runs a render; if it removed the focused control, focuses its rebuilt twin with the same selection. */
function keepFocus(render) {
  const active = document.activeElement;
  const key = focusKey(active);
  let selection = null;
  try { if (active && typeof active.selectionStart === 'number') selection = [active.selectionStart, active.selectionEnd]; } catch { /* no selection */ }
  render();
  if (!key || active?.isConnected) return;
  const twin = document.querySelector(key);
  if (!twin) return;
  twin.focus({ preventScroll: true });
  if (selection && typeof twin.setSelectionRange === 'function') {
    try { twin.setSelectionRange(...selection); } catch { /* input type without selection */ }
  }
}

function renderAll() {
  if (!ui.state) return;
  keepFocus(() => {
    renderHeader();
    renderChannel();
    renderSidebar();
    renderThread();
    renderNetwork();
    renderModal();
  });
  renderTour();
}

const isAtBottom = (list) => list.scrollHeight - list.scrollTop - list.clientHeight < 48;

/** Keeps message lists pinned to the bottom when they were at the bottom (also after images load). */
function stickLists() {
  for (const id of Object.keys(ui.stick)) {
    const list = document.getElementById(id);
    if (list && ui.stick[id]) list.scrollTop = list.scrollHeight;
  }
}

// ---- Header ----

function renderHeader() {
  const { users, assistant } = ui.state;
  const select = $('#user-switch');
  const sig = JSON.stringify(users);
  if (ui.sigs.get(select) !== sig) {
    select.replaceChildren(...users.map((u) => h('option', { value: u.id }, `${u.realName} (${u.role}${u.isAdmin ? ', admin' : ''})`)));
    ui.sigs.set(select, sig);
  }
  select.value = ui.me;
  $('#assistant-mode').textContent = assistant?.mode === 'model'
    ? `Assistant: model ${assistant.model ?? ''}`.trim()
    : 'Assistant: built-in fallbacks (no model configured)';
  const me = meUser();
  $('#user-about').textContent = me ? `${me.realName} (${me.role}): ${me.about}` : '';
}

async function switchUser(id) {
  if (!id || id === ui.me) return;
  ui.me = id;
  store.set(KEYS.user, id);
  ui.openMenu = null;
  $('#user-switch').value = id;
  await refresh();
}

// ---- Sidebar ----

function latestTopTs(channelId) {
  const list = (ui.state.messages[channelId] ?? []).filter((m) => !isReply(m) || m.reply_broadcast);
  return list.length ? list[list.length - 1].ts : null;
}

function hasUnread(c) {
  const latest = latestTopTs(c.id);
  if (!latest) return false;
  const seen = ui.lastSeen.get(c.id);
  return seen === undefined || cmpTs(latest, seen) > 0;
}

function renderSidebar() {
  const current = currentChannel();
  const items = ui.state.channels.map((c) => {
    const key = channelKey(c);
    const active = c.id === current?.id;
    const unread = !active && hasUnread(c);
    return {
      key: `ch-${key}`,
      sig: `${c.name}|${c.purpose}|${unread}|${active}`,
      build: () => h('button', {
        type: 'button', class: `channel${unread ? ' unread' : ''}${c.isIm ? ' dm' : ''}`, 'data-channel': key,
        'aria-current': active ? 'page' : null, title: c.purpose || null, onclick: () => switchChannel(key),
      }, channelLabel(c), unread ? h('span', { class: 'unread-dot' }, visuallyHidden(' (new messages)')) : null),
    };
  });
  reconcile($('#channel-list'), items);
}

function switchChannel(key) {
  if (!ui.state || !channelByName(key) || key === ui.channelKey) return;
  const composer = $('#composer');
  ui.composerDrafts.set(ui.channelKey, composer.value);
  ui.channelKey = key;
  store.set(KEYS.channel, key, true);
  composer.value = ui.composerDrafts.get(key) ?? '';
  ui.stick.messages = true;
  ui.openMenu = null;
  renderAll();
  renderSlashHints();
}

// ---- mrkdwn (Slack's message markup) → DOM ----

const unescapeText = (text) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** *bold*, _italic_ and ~strike~ only at word boundaries, as Slack does (snake_case stays plain). */
const FORMAT = /(?<![\p{L}\p{N}_*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\p{L}\p{N}_])|(?<![\p{L}\p{N}_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\p{L}\p{N}])|(?<![\p{L}\p{N}_~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\p{L}\p{N}])/u;

function renderMrkdwn(text) {
  const frag = document.createDocumentFragment();
  const parts = String(text ?? '').split('```');
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      frag.append(h('pre', { class: 'code' }, unescapeText(part.replace(/^\n/, '').replace(/\n$/, ''))));
      return;
    }
    let rest = i % 2 === 1 ? `\`\`\`${part}` : part; // an unclosed fence stays text
    if (i > 0 && i % 2 === 0) rest = rest.replace(/^\n/, ''); // the line break after a code block
    if (i < parts.length - 1) rest = rest.replace(/\n$/, ''); // the line break before one
    if (rest) frag.append(renderLines(rest));
  });
  return frag;
}

/** Lines: runs of "> " lines become blockquotes, other lines stay text (the container keeps newlines). */
function renderLines(text) {
  const frag = document.createDocumentFragment();
  let run = [];
  let quote = [];
  const flushRun = () => { if (run.length) frag.append(renderInline(run.join('\n'))); run = []; };
  const flushQuote = () => { if (quote.length) frag.append(h('blockquote', {}, renderInline(quote.join('\n')))); quote = []; };
  for (const line of text.split('\n')) {
    const match = /^(?:&gt;|>) ?(.*)$/.exec(line);
    if (match) { flushRun(); quote.push(match[1]); } else { flushQuote(); run.push(line); }
  }
  flushRun();
  flushQuote();
  return frag;
}

/** Inline markup: `code` and <…> are set aside first so formatting never breaks a link or mention. */
function renderInline(text) {
  const tokens = [];
  const shielded = text.replace(/`([^`\n]+)`|<([^<>\n]+)>/g, (_all, code, angle) => {
    tokens.push(code !== undefined ? h('code', {}, unescapeText(code)) : angleNode(angle));
    return `\uE000${tokens.length - 1}\uE001`;
  });
  return formatRuns(shielded, tokens);
}

function formatRuns(text, tokens) {
  const frag = document.createDocumentFragment();
  let rest = text;
  for (let match = FORMAT.exec(rest); match; match = FORMAT.exec(rest)) {
    frag.append(plainWithTokens(rest.slice(0, match.index), tokens));
    const [tag, inner] = match[1] !== undefined ? ['b', match[1]] : match[2] !== undefined ? ['i', match[2]] : ['s', match[3]];
    frag.append(h(tag, {}, formatRuns(inner, tokens)));
    rest = rest.slice(match.index + match[0].length);
  }
  frag.append(plainWithTokens(rest, tokens));
  return frag;
}

function plainWithTokens(text, tokens) {
  const frag = document.createDocumentFragment();
  text.split(/\uE000(\d+)\uE001/).forEach((piece, i) => {
    if (i % 2 === 1) frag.append(tokens[Number(piece)].cloneNode(true));
    else if (piece) frag.append(autolink(unescapeText(piece)));
  });
  return frag;
}

/** Bare web addresses become links, as Slack's client shows them (closing punctuation stays text). */
function autolink(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(/https?:\/\/[^\s<>"]+?(?=[.,;:!?)\]]*(?:\s|$))/g)) {
    frag.append(text.slice(last, match.index), linkNode(match[0], match[0]));
    last = match.index + match[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

const mention = (text) => h('span', { class: 'mention' }, text);

/** A Slack permalink (https://<team>.slack.com/archives/C…/p…[?thread_ts=…]) of a message here. */
const PERMALINK = /^https:\/\/[a-z0-9-]+\.slack\.com\/archives\/([A-Z0-9_]+)\/p(\d+)(\d{6})(?:\?thread_ts=(\d+\.\d+))?/;

/** Shows the message a permalink names: its channel, its thread when it is a reply, scrolled to and marked. */
function goToMessage(channelId, ts, threadTs) {
  const c = channelById(channelId);
  if (!c) return;
  switchChannel(channelKey(c));
  if (threadTs) openThread(channelId, threadTs);
  requestAnimationFrame(() => {
    const target = document.querySelector(`article.msg[data-ts="${CSS.escape(ts)}"]`);
    if (!target) return;
    target.scrollIntoView({ block: 'center' });
    target.classList.add('linked');
    setTimeout(() => target.classList.remove('linked'), 2_000);
  });
}

document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[data-goto-ts]') : null;
  if (!link) return;
  event.preventDefault();
  goToMessage(link.dataset.gotoChannel, link.dataset.gotoTs, link.dataset.gotoThread);
});

function linkNode(url, label) {
  const permalink = PERMALINK.exec(url);
  if (permalink && ui.state && channelById(permalink[1])) {
    const [, channelId, seconds, micros, threadTs] = permalink;
    // Tokens are cloned into place (listeners do not survive): a delegated listener follows it.
    return h('a', { href: '#', class: 'permalink', 'data-goto-channel': channelId, 'data-goto-ts': `${seconds}.${micros}`, 'data-goto-thread': threadTs ?? null }, label);
  }
  if (!safeUrl(url)) return document.createTextNode(label);
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, label);
}

/** <@U…>, <#C…|name>, <!subteam^S…>, <!here>, <url|label>, <url>. */
function angleNode(body) {
  const bar = body.indexOf('|');
  const target = bar >= 0 ? body.slice(0, bar) : body;
  const label = bar >= 0 ? unescapeText(body.slice(bar + 1)) : '';
  if (target.startsWith('@')) return mention(`@${personName(target.slice(1))}`);
  if (target.startsWith('#')) return mention(`#${label || channelById(target.slice(1))?.name || target.slice(1)}`);
  if (target.startsWith('!subteam^')) {
    const id = target.slice('!subteam^'.length);
    return mention(`@${groupHandle(id) || label.replace(/^@/, '') || id}`);
  }
  if (target.startsWith('!')) {
    const word = target.slice(1).split('^')[0];
    if (['here', 'channel', 'everyone'].includes(word)) return mention(`@${word}`);
    return document.createTextNode(label || word);
  }
  const url = unescapeText(target);
  return linkNode(url, label || url);
}

// ---- Block Kit → DOM ----

/** ctx = { channelId, ts } of the message or ephemeral the blocks belong to (null in modals). */
function renderBlocks(blocks, ctx) {
  const nodes = (blocks ?? []).map((b) => renderBlock(b, ctx)).filter(Boolean);
  return nodes.length ? h('div', { class: 'blocks' }, nodes) : null;
}

function renderBlock(b, ctx) {
  switch (b.type) {
    case 'section': return sectionBlock(b, ctx);
    case 'context':
      return h('div', { class: 'block context' }, (b.elements ?? []).map((el) =>
        el.type === 'image' ? imageNode(el, 'ctx-img') : textObjNode(el)));
    case 'image':
      return h('figure', { class: 'block image' }, imageNode(b, 'block-img'), b.title ? h('figcaption', {}, textOf(b.title)) : null);
    case 'actions': return h('div', { class: 'block actions' }, (b.elements ?? []).map((el) => elementNode(el, ctx)));
    case 'divider': return h('hr', { class: 'block divider' });
    case 'header': return h('p', { class: 'block header' }, textOf(b.text));
    case 'markdown': return h('div', { class: 'block mrkdwn' }, renderMrkdwn(b.text ?? ''));
    default: return null;
  }
}

function textObjNode(obj) {
  if (obj?.type === 'mrkdwn') return h('span', { class: 'mrkdwn' }, renderMrkdwn(obj.text));
  return h('span', { class: 'plain' }, textOf(obj));
}

function sectionBlock(b, ctx) {
  const body = h('div', { class: 'section-body' },
    b.text ? h('div', { class: 'mrkdwn' }, b.text.type === 'mrkdwn' ? renderMrkdwn(b.text.text) : textOf(b.text)) : null,
    b.fields?.length ? h('div', { class: 'fields' }, b.fields.map((f) => h('div', { class: 'field-cell mrkdwn' },
      f.type === 'mrkdwn' ? renderMrkdwn(f.text) : textOf(f)))) : null);
  const accessory = b.accessory ? h('div', { class: 'accessory' }, elementNode(b.accessory, ctx)) : null;
  return h('div', { class: 'block section' }, body, accessory);
}

function imageSrc(el) {
  if (el.slack_file?.id) return `/sandbox/files/${encodeURIComponent(el.slack_file.id)}`;
  const url = el.image_url ?? el.slack_file?.url ?? '';
  return /^(https?:|\/|data:image\/)/i.test(url) ? url : '';
}

function imageNode(el, cls) {
  const src = imageSrc(el);
  if (!src) return h('span', { class: 'unsupported' }, el.alt_text || 'image');
  return h('img', { class: cls, src, alt: el.alt_text ?? '', onload: stickLists });
}

function elementNode(el, ctx) {
  if (el.type === 'button') return buttonNode(el, ctx);
  if (el.type === 'static_select') return messageSelect(el, ctx);
  if (el.type === 'image') return imageNode(el, 'ctx-img');
  return h('span', { class: 'unsupported' }, `(${el.type ?? 'element'} not shown in the sandbox)`);
}

function buttonNode(el, ctx) {
  const label = textOf(el.text);
  if (el.url && safeUrl(el.url)) {
    return h('a', { class: 'btn', href: el.url, target: '_blank', rel: 'noopener noreferrer', 'data-action-id': el.action_id },
      label, visuallyHidden(' (opens in a new tab)'));
  }
  const style = el.style === 'primary' || el.style === 'danger' ? ` ${el.style}` : '';
  const button = h('button', { type: 'button', class: `btn${style}`, 'data-action-id': el.action_id, disabled: !ctx }, label);
  button.addEventListener('click', () => pressButton(el, ctx, button));
  return button;
}

async function pressButton(el, ctx, button) {
  if (button.getAttribute('aria-busy') === 'true') return;
  if (el.confirm && !(await confirmDialog(el.confirm))) return;
  tourNoteClick(String(el.action_id ?? ''));
  button.setAttribute('aria-busy', 'true');
  await act('click', { user: ui.me, channel: ctx.channelId, ts: ctx.ts, actionId: el.action_id });
  button.removeAttribute('aria-busy');
}

function optionNodes(el) {
  const option = (o) => h('option', { value: o.value }, textOf(o.text));
  return [
    ...(el.options ?? []).map(option),
    ...(el.option_groups ?? []).map((g) => h('optgroup', { label: textOf(g.label) }, (g.options ?? []).map(option))),
  ];
}

function messageSelect(el, ctx) {
  const placeholder = textOf(el.placeholder) || 'Choose an option';
  const select = h('select', { 'data-action-id': el.action_id, 'aria-label': placeholder, disabled: !ctx },
    h('option', { value: '', disabled: true }, placeholder), optionNodes(el));
  select.value = el.initial_option?.value ?? '';
  let previous = select.value;
  select.addEventListener('change', async () => {
    const value = select.value;
    const ok = await act('select', { user: ui.me, channel: ctx.channelId, ts: ctx.ts, actionId: el.action_id, value });
    if (ok) previous = value;
    else select.value = previous;
  });
  return select;
}

/** Every interactive element in blocks (accessories, actions, input elements). */
function elementsOf(blocks) {
  const out = [];
  for (const b of blocks ?? []) {
    if (b.accessory) out.push(b.accessory);
    if (b.element) out.push(b.element);
    if (b.type === 'actions' && Array.isArray(b.elements)) out.push(...b.elements);
  }
  return out;
}

// ---- Messages ----

const REACTIONS = { '+1': '👍', thumbsup: '👍', '-1': '👎', white_check_mark: '✅', eyes: '👀', tada: '🎉', heart: '❤️', x: '❌' };

const AVATAR_COLOURS = ['#4a154b', '#1264a3', '#007a5a', '#8f3a00', '#5c2d91', '#2b5f75', '#7a2048', '#3d5a1e'];

function avatar(name, id) {
  let hash = 0;
  for (const ch of String(id)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const initials = String(name).split(/\s+/).filter(Boolean).slice(0, 2).map((w) => [...w][0]).join('').toUpperCase();
  return h('div', { class: 'avatar', 'aria-hidden': 'true', style: `background:${AVATAR_COLOURS[hash % AVATAR_COLOURS.length]}` }, initials || '?');
}

function threadInfo(channelId, m) {
  if (isReply(m)) return null;
  const replies = (ui.state.messages[channelId] ?? []).filter((r) => r.thread_ts === m.ts && r.ts !== m.ts);
  const count = replies.length || m.reply_count || 0;
  return count ? { count, last: replies.length ? replies[replies.length - 1].ts : m.latest_reply } : null;
}

function visibleEphemerals(channelId, threadTs) {
  return ui.state.ephemerals.filter((e) => e.channel === channelId && !e.deleted && !ui.dismissed.has(e.ts)
    && (threadTs ? e.thread_ts === threadTs : !e.thread_ts));
}

/** Day headings, messages and ephemerals of one list in ts order, as reconcile items. */
function listItems(messages, ephemerals, c, where) {
  const entries = [...messages.map((m) => ({ ts: m.ts, m })), ...ephemerals.map((e) => ({ ts: e.ts, e }))]
    .sort((a, b) => cmpTs(a.ts, b.ts));
  const items = [];
  let day = '';
  for (const entry of entries) {
    const date = tsDate(entry.ts);
    if (where === 'channel' && date.toDateString() !== day) {
      day = date.toDateString();
      items.push({ key: `day-${day}`, sig: day, build: () => h('h2', { class: 'day' }, dayFormat.format(date)) });
    }
    items.push(entry.m ? messageItem(entry.m, c, where) : ephemeralItem(entry.e, c));
  }
  return items;
}

function messageItem(m, c, where) {
  const replies = where === 'channel' ? threadInfo(c.id, m) : null;
  const menuOpen = ui.openMenu?.where === where && ui.openMenu.ts === m.ts;
  const sig = JSON.stringify([m, replies, menuOpen, ui.ctxVersion]);
  return { key: `m-${m.ts}`, sig, build: () => buildMessage(m, c, where, replies, menuOpen) };
}

/**
 * Blocks when there are any, else the text. A person's message carries a rich_text block that only
 * wraps its text (escaped, with <@U…> mentions), so the text is what gets rendered for it.
 */
function messageContent(item, ctx) {
  const typed = item.blocks?.every((b) => b.type === 'rich_text') && item.text;
  const blocks = item.blocks?.length && !typed ? renderBlocks(item.blocks, ctx) : null;
  return blocks ?? h('div', { class: 'mrkdwn' }, renderMrkdwn(item.text));
}

/** Legacy attachments (Herald sends none, but other apps' messages may). */
function attachmentsNode(item, ctx) {
  return (item.attachments ?? []).map((a) => h('div', { class: 'attachment' },
    a.blocks?.length ? renderBlocks(a.blocks, ctx) : h('div', { class: 'mrkdwn' }, renderMrkdwn(a.text || a.fallback || ''))));
}

function fileNode(f) {
  const src = `/sandbox/files/${encodeURIComponent(f.id)}`;
  if (String(f.mimetype ?? '').startsWith('image/') || /\.(png|jpe?g|gif|webp)$/i.test(f.name ?? '')) {
    return h('figure', { class: 'file' }, h('img', { src, alt: f.alt_txt || f.title || f.name, onload: stickLists }),
      h('figcaption', {}, f.title || f.name));
  }
  return h('p', { class: 'file' }, h('a', { href: src, download: f.name }, `📎 ${f.title || f.name}`));
}

function reactionsNode(m) {
  if (!m.reactions?.length) return null;
  return h('div', { class: 'reactions' }, m.reactions.map((r) => {
    const emoji = REACTIONS[r.name] ?? `:${r.name}:`;
    const who = (r.users ?? []).map(personName).join(', ');
    return h('span', { class: 'reaction', role: 'img', title: who || null, 'aria-label': `${r.name} reaction, ${r.count}` }, `${emoji} ${r.count}`);
  }));
}

function buildMessage(m, c, where, replies, menuOpen) {
  const bot = isBotMsg(m);
  const name = bot ? ui.state.bot.name : personName(m.user);
  const ctx = { channelId: c.id, ts: m.ts };
  const head = h('div', { class: 'msg-head' },
    h('span', { class: 'author' }, name), bot ? h('span', { class: 'tag app-tag' }, 'APP') : null,
    timeEl(tsDate(m.ts)), m.edited ? h('span', { class: 'edited' }, '(edited)') : null,
    isReply(m) && where === 'channel' ? h('span', { class: 'edited' }, 'replied to a thread') : null);
  const summary = replies ? h('button', {
    type: 'button', class: 'thread-summary', 'data-open-thread': m.ts, onclick: () => openThread(c.id, m.ts),
  }, plural(replies.count, 'reply', 'replies'), replies.last ? h('span', { class: 'muted' }, ` · last ${timeFormat.format(tsDate(replies.last))}`) : null) : null;
  const tools = h('div', { class: 'msg-tools' },
    where === 'channel' ? h('button', {
      type: 'button', class: 'tool text-tool', 'data-reply': m.ts, 'aria-label': 'Reply in thread', title: 'Reply in thread',
      onclick: () => openThread(c.id, m.thread_ts || m.ts),
    }, 'Reply') : null,
    moreActions(m, c, where, menuOpen));
  return h('article', { class: `msg${bot ? ' from-bot' : ''}`, 'data-ts': m.ts, 'data-channel': channelKey(c) },
    avatar(name, bot ? 'herald' : m.user),
    h('div', { class: 'msg-body' }, head, messageContent(m, ctx), attachmentsNode(m, ctx),
      m.files?.length ? h('div', { class: 'files' }, m.files.map(fileNode)) : null,
      reactionsNode(m), summary),
    tools);
}

function ephemeralItem(e, c) {
  return { key: `e-${e.ts}`, sig: JSON.stringify([e, ui.ctxVersion]), build: () => buildEphemeral(e, c) };
}

function buildEphemeral(e, c) {
  const ctx = { channelId: c.id, ts: e.ts };
  return h('article', { class: 'msg ephemeral from-bot', 'data-ts': e.ts, 'data-channel': channelKey(c), 'data-ephemeral': 'true' },
    avatar(ui.state.bot.name, 'herald'),
    h('div', { class: 'msg-body' },
      h('div', { class: 'msg-head' }, h('span', { class: 'author' }, ui.state.bot.name), h('span', { class: 'tag app-tag' }, 'APP'),
        timeEl(tsDate(e.ts)), h('span', { class: 'only-you' }, 'Only visible to you')),
      messageContent(e, ctx), attachmentsNode(e, ctx)),
    h('div', { class: 'msg-tools' }, h('button', {
      type: 'button', class: 'tool text-tool', 'data-dismiss': e.ts,
      onclick: () => { ui.dismissed.add(e.ts); renderAll(); },
    }, 'Dismiss')));
}

function renderChannel() {
  const c = currentChannel();
  if (!c) return;
  const label = c.isIm ? 'Message Herald' : `Message #${c.name}`;
  $('#channel-title').textContent = channelLabel(c);
  $('#channel-purpose').textContent = c.isIm ? 'Your direct messages with Herald.' : (c.purpose || '');
  const composer = $('#composer');
  composer.setAttribute('aria-label', label);
  composer.placeholder = `${label} (type / for commands)`;
  const list = $('#messages');
  list.setAttribute('aria-label', `Messages in ${channelLabel(c)}`);
  const messages = (ui.state.messages[c.id] ?? []).filter((m) => !isReply(m) || m.reply_broadcast);
  const items = listItems(messages, visibleEphemerals(c.id, null), c, 'channel');
  if (!items.length) items.push({ key: 'empty', sig: '', build: () => h('p', { class: 'empty' }, 'No messages yet. Say something!') });
  reconcile(list, items);
  stickLists();
  ui.lastSeen.set(c.id, latestTopTs(c.id) ?? '0');
}

// ---- "More actions" menu (message shortcuts) ----

function moreActions(m, c, where, open) {
  const menuId = `menu-${where}-${m.ts}`;
  const button = h('button', {
    type: 'button', class: 'tool', 'data-more-actions': m.ts, 'aria-haspopup': 'menu', 'aria-expanded': String(open),
    'aria-controls': open ? menuId : null, 'aria-label': 'More actions', title: 'More actions',
    onclick: () => (open ? closeMenu(true) : openMenu(where, m.ts)),
    onkeydown: (e) => { if (!open && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) { e.preventDefault(); openMenu(where, m.ts, e.key === 'ArrowUp'); } },
  }, '⋯');
  return h('div', { class: `menu-wrap${open ? ' open' : ''}` }, button, open ? menuNode(m, c, menuId) : null);
}

function menuNode(m, c, menuId) {
  const shortcuts = ui.state.shortcuts ?? [];
  const items = shortcuts.length
    ? shortcuts.map((s) => h('button', {
      type: 'button', role: 'menuitem', tabindex: '-1', 'data-callback-id': s.callbackId, title: s.description || null,
      onclick: () => runShortcut(s, c, m),
    }, h('span', { class: 'menu-name' }, s.name), s.description ? h('span', { class: 'menu-desc', 'aria-hidden': 'true' }, s.description) : null))
    : [h('button', { type: 'button', role: 'menuitem', tabindex: '-1', 'aria-disabled': 'true' }, 'No shortcuts available')];
  return h('div', { class: 'menu', role: 'menu', id: menuId, 'aria-label': 'More actions', onkeydown: menuKeys }, items);
}

const listSelector = (where) => (where === 'thread' ? '#thread-messages' : '#messages');

function openMenu(where, ts, last = false) {
  ui.openMenu = { where, ts };
  renderAll();
  const wrap = $(`${listSelector(where)} [data-key="${CSS.escape(`m-${ts}`)}"] .menu-wrap`);
  const menu = wrap?.querySelector('[role="menu"]');
  if (!menu) return;
  const list = $(listSelector(where));
  if (menu.getBoundingClientRect().bottom > list.getBoundingClientRect().bottom) wrap.classList.add('up');
  const items = $$('[role="menuitem"]', menu);
  items[last ? items.length - 1 : 0]?.focus();
}

function closeMenu(returnFocus) {
  const open = ui.openMenu;
  if (!open) return;
  ui.openMenu = null;
  renderAll();
  if (returnFocus) $(`${listSelector(open.where)} [data-key="${CSS.escape(`m-${open.ts}`)}"] [data-more-actions]`)?.focus();
}

function menuKeys(e) {
  const items = $$('[role="menuitem"]', e.currentTarget);
  const index = items.indexOf(document.activeElement);
  const move = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1 }[e.key];
  if (move !== undefined) {
    e.preventDefault();
    items[(move + items.length) % items.length]?.focus();
  } else if (e.key === 'Escape') {
    e.preventDefault();
    closeMenu(true);
  } else if (e.key === 'Tab') {
    closeMenu(true); // Tab then moves on from the More actions button
  }
}

async function runShortcut(shortcut, c, m) {
  closeMenu(true);
  await act('shortcut', { user: ui.me, channel: c.id, ts: m.ts, callbackId: shortcut.callbackId });
}

// ---- Thread panel ----

function openThread(channelId, ts) {
  ui.thread = { channelId, ts };
  ui.stick['thread-messages'] = true;
  renderAll();
  $('#thread-composer').focus();
}

function closeThread() {
  const was = ui.thread;
  ui.thread = null;
  renderAll();
  if (was) $(`#messages [data-key="${CSS.escape(`m-${was.ts}`)}"] [data-reply]`)?.focus();
}

function renderThread() {
  const aside = $('#thread');
  const t = ui.thread;
  const c = t && channelById(t.channelId);
  const parent = c && (ui.state.messages[c.id] ?? []).find((m) => m.ts === t.ts);
  if (!parent) {
    if (aside.contains(document.activeElement)) $('#composer').focus();
    ui.thread = null;
    aside.hidden = true;
    $('#app').classList.add('no-thread');
    return;
  }
  aside.hidden = false;
  $('#app').classList.remove('no-thread');
  $('#thread-title').textContent = `Thread in ${channelLabel(c)}`;
  const replies = (ui.state.messages[c.id] ?? []).filter((m) => m.thread_ts === t.ts && m.ts !== t.ts);
  const count = plural(replies.length, 'reply', 'replies');
  const items = [
    messageItem(parent, c, 'thread'),
    { key: 'count', sig: count, build: () => h('p', { class: 'reply-count' }, count) },
    ...listItems(replies, visibleEphemerals(c.id, t.ts), c, 'thread'),
  ];
  reconcile($('#thread-messages'), items);
  stickLists();
}

// ---- Composers ----

/** Sends a composer's text; clears it only on success (and only if it was not changed meanwhile). */
async function sendFrom(textarea, channelId, threadTs) {
  const text = textarea.value;
  if (!text.trim() || textarea.dataset.sending === 'true' || !ui.state) return;
  textarea.dataset.sending = 'true';
  const ok = await act('message', { user: ui.me, channel: channelId, text: text.trim(), ...(threadTs ? { threadTs } : {}) });
  delete textarea.dataset.sending;
  if (ok && textarea.value === text) textarea.value = '';
  if (ok) {
    ui.stick[threadTs ? 'thread-messages' : 'messages'] = true;
    for (const [key, draft] of ui.composerDrafts) if (draft === text) ui.composerDrafts.delete(key); // sent, then switched away
  }
  renderSlashHints();
}

function wireComposer(textarea, form, target) {
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    } else if (e.key === 'Escape') {
      $('#slash-hints').hidden = true;
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const where = target();
    if (where) sendFrom(textarea, where.channelId, where.threadTs);
  });
}

/** While the composer starts with "/", lists the matching commands with their usage hints. */
function renderSlashHints() {
  const list = $('#slash-hints');
  const value = $('#composer').value;
  const typed = value.split(/\s/)[0].toLowerCase();
  const commands = value.startsWith('/') && !value.includes('\n')
    ? (ui.state?.commands ?? []).filter((c) => c.command.toLowerCase().startsWith(typed) || typed.startsWith(c.command.toLowerCase()))
    : [];
  list.hidden = commands.length === 0;
  const sig = JSON.stringify(commands);
  if (ui.sigs.get(list) === sig) return;
  ui.sigs.set(list, sig);
  list.replaceChildren(...commands.map((c) => h('li', {},
    h('button', { type: 'button', class: 'hint', 'data-fill': c.command, onclick: () => fillCommand(c.command) },
      h('strong', {}, c.command), c.usageHint ? h('code', {}, ` ${c.usageHint}`) : null,
      c.description ? h('span', { class: 'muted' }, ` ${c.description}`) : null))));
}

function fillCommand(command) {
  const composer = $('#composer');
  if (!composer.value.startsWith(`${command} `)) composer.value = `${command} `;
  composer.focus();
  composer.setSelectionRange(composer.value.length, composer.value.length);
  renderSlashHints();
}

// ---- Network panel ----

function renderNetwork() {
  const net = ui.state.network;
  if (!net) return;
  $('#network').setAttribute('aria-label', net.name);
  $('#net-title').textContent = net.name;
  const account = net.account;
  const accountSig = JSON.stringify(account);
  const box = $('#net-account');
  if (ui.sigs.get(box) !== accountSig) {
    ui.sigs.set(box, accountSig);
    box.replaceChildren(account
      ? h('p', {}, 'Brand account: ', h('strong', {}, account.displayName), ` ${handle(account.handle)}`,
        h('span', { class: 'muted' }, ` · ${numberFormat.format(account.followers)} ${account.followers === 1 ? 'follower' : 'followers'}`))
      : h('p', { class: 'muted' }, 'No brand account is connected yet.'));
  }
  renderPeople(net.people);
  const posts = feedOrder(net.posts);
  const items = posts.map(({ post: p, depth }) => {
    const open = ui.comments.has(p.id);
    return { key: `p-${p.id}`, sig: JSON.stringify([p, depth, open]), build: () => buildPost(p, depth, open, net) };
  });
  if (!items.length) items.push({ key: 'empty', sig: '', build: () => h('p', { class: 'empty' }, 'No posts yet.') });
  reconcile($('#net-feed'), items);
}

function renderPeople(people) {
  const select = $('#net-person');
  const sig = JSON.stringify(people);
  if (ui.sigs.get(select) === sig) return;
  ui.sigs.set(select, sig);
  const chosen = select.value;
  select.replaceChildren(...people.map((p) => h('option', { value: p.id, title: handle(p.handle) }, p.displayName)));
  if (people.some((p) => p.id === chosen)) select.value = chosen;
}

/** Newest conversations first; replies under their parent, oldest first, with a depth for indenting. */
function feedOrder(posts) {
  const byId = new Map(posts.map((p) => [p.id, p]));
  const children = new Map();
  const roots = [];
  for (const p of posts) {
    if (p.inReplyTo && byId.has(p.inReplyTo) && p.inReplyTo !== p.id) {
      if (!children.has(p.inReplyTo)) children.set(p.inReplyTo, []);
      children.get(p.inReplyTo).push(p);
    } else {
      roots.push(p);
    }
  }
  const out = [];
  const seen = new Set();
  const walk = (p, depth) => {
    if (seen.has(p.id)) return;
    seen.add(p.id);
    out.push({ post: p, depth });
    for (const child of [...(children.get(p.id) ?? [])].reverse()) walk(child, depth + 1);
  };
  roots.forEach((p) => walk(p, 0));
  return out;
}

function buildPost(p, depth, open, net) {
  const parent = p.inReplyTo ? net.posts.find((x) => x.id === p.inReplyTo) : null;
  const when = timeEl(toDate(p.createdAt), shortFormat);
  const counts = [plural(p.likes ?? 0, 'like'), plural(p.reposts ?? 0, 'repost'), plural(p.replies ?? 0, 'reply', 'replies')].join(' · ');
  return h('article', { class: `post${p.ours ? ' ours' : ''}`, 'data-post-id': p.id, 'data-ours': p.ours ? 'true' : null, style: `--depth:${Math.min(depth, 4)}` },
    h('div', { class: 'post-head' },
      h('span', { class: 'author' }, p.author.displayName), ' ',
      h('span', { class: 'muted' }, handle(p.author.handle)),
      p.ours ? h('span', { class: 'tag ours-tag' }, 'Ours') : null, ' ',
      p.url && safeUrl(p.url) ? h('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer', class: 'muted' }, when ?? 'open') : when),
    parent ? h('p', { class: 'muted reply-to' }, `Replying to ${handle(parent.author.handle)}`) : null,
    h('p', { class: 'post-text' }, p.text),
    h('p', { class: 'post-counts muted' }, counts),
    h('div', { class: 'post-actions' },
      h('button', { type: 'button', 'data-net-action': 'comment', 'aria-expanded': String(open), onclick: () => toggleComment(p.id) }, 'Comment'),
      h('button', { type: 'button', 'data-net-action': 'like', onclick: () => networkAct('like', { postId: p.id }, 'Liked') }, 'Like'),
      h('button', { type: 'button', 'data-net-action': 'repost', onclick: () => networkAct('repost', { postId: p.id }, 'Reposted') }, 'Repost')),
    open ? commentBox(p) : null);
}

function commentBox(p) {
  const id = `comment-${String(p.id).replace(/[^\w-]/g, '_')}`;
  const textarea = h('textarea', { id, rows: 2, 'data-comment-for': p.id, value: ui.comments.get(p.id) ?? '' });
  textarea.addEventListener('input', () => ui.comments.set(p.id, textarea.value));
  return h('div', { class: 'comment-box' },
    h('label', { for: id }, `Your comment on ${handle(p.author.handle)}’s post`), textarea,
    h('button', { type: 'button', class: 'primary', 'data-send-comment': p.id, onclick: () => sendComment(p, textarea) }, 'Send comment'));
}

function toggleComment(postId) {
  if (ui.comments.has(postId)) ui.comments.delete(postId);
  else ui.comments.set(postId, '');
  renderAll();
  if (ui.comments.has(postId)) $(`#net-feed [data-comment-for="${CSS.escape(postId)}"]`)?.focus();
}

function person() {
  const id = $('#net-person').value;
  return ui.state?.network?.people.find((p) => p.id === id);
}

async function networkAct(kind, extra, success) {
  const who = person();
  if (!who) { toast('There is no outside person to act as.', 'error'); return false; }
  return act('network/act', { as: who.id, kind, ...extra }, success && `${success} (as ${handle(who.handle)})`);
}

async function sendComment(p, textarea) {
  const text = textarea.value.trim();
  if (!text) { toast('Write a comment first.', 'error'); textarea.focus(); return; }
  if (await networkAct('comment', { postId: p.id, text }, 'Comment posted')) {
    ui.comments.delete(p.id);
    renderAll();
    $(`#net-feed [data-post-id="${CSS.escape(p.id)}"] [data-net-action="comment"]`)?.focus();
  }
}

async function sendMention() {
  const box = $('#net-mention-text');
  const text = box.value.trim();
  if (!text) { toast('Write the post that mentions the brand first.', 'error'); box.focus(); return; }
  if (await networkAct('mention', { text }, 'Mention posted')) box.value = '';
}

// ---- Modal (Slack views) ----

const fieldId = (blockId) => `field-${String(blockId).replace(/[^\w-]/g, '_')}`;

function topView() {
  const views = (ui.state.views ?? []).filter((v) => v.status !== 'closed' && !ui.closingViews.has(v.id));
  return views[views.length - 1];
}

function renderModal() {
  const view = topView();
  if (!view) { if (ui.modal) hideModal(); return; }
  const sig = JSON.stringify([view.id, view.hash, view.title, view.submit, view.close, view.blocks, ui.ctxVersion]);
  if (ui.modal?.sig !== sig) buildModal(view, sig);
  ui.modal.view = view;
  showFieldErrors();
}

function buildModal(view, sig) {
  const opening = !ui.modal;
  const sameView = ui.modal?.viewId === view.id;
  if (opening) ui.modalReturn = { el: document.activeElement, key: focusKey(document.activeElement) };
  ui.modal = { viewId: view.id, sig, view, clientErrors: sameView ? ui.modal.clientErrors : new Map() };
  if (!ui.modalDrafts.has(view.id)) ui.modalDrafts.set(view.id, new Map());
  const drafts = ui.modalDrafts.get(view.id);
  $('#modal-title').textContent = textOf(view.title) || 'Herald';
  $('#modal-submit').textContent = textOf(view.submit) || 'Submit';
  $('#modal-submit').hidden = !view.submit;
  $('#modal-cancel').textContent = textOf(view.close) || 'Cancel';
  $('#modal-body').replaceChildren(...(view.blocks ?? []).map((b) => (b.type === 'input' ? inputField(b, drafts) : renderBlock(b, null))).filter(Boolean));
  $('#modal-backdrop').hidden = false;
  $('#app').inert = true;
  if (!sameView) focusFirstField();
}

function focusFirstField() {
  const first = $('#modal-body').querySelector('input, select, textarea') ?? $('#modal-submit:not([hidden])') ?? $('#modal-cancel');
  first.focus();
}

function inputField(block, drafts) {
  const el = block.element ?? {};
  const id = fieldId(block.block_id);
  const control = inputControl(el, drafts.get(block.block_id));
  Object.assign(control, { id, name: block.block_id });
  control.dataset.actionId = el.action_id ?? block.block_id;
  if (!block.optional) control.required = true;
  const hintId = block.hint ? `${id}-hint` : null;
  control.setAttribute('aria-describedby', [`${id}-error`, hintId].filter(Boolean).join(' '));
  const remember = () => {
    drafts.set(block.block_id, control.value);
    if (ui.modal?.clientErrors.delete(block.block_id)) showFieldErrors();
  };
  control.addEventListener('input', remember);
  control.addEventListener('change', remember);
  return h('div', { class: 'field', 'data-block-id': block.block_id },
    h('label', { for: id }, textOf(block.label), block.optional ? h('span', { class: 'optional' }, ' (optional)') : null),
    control,
    hintId ? h('p', { class: 'hint-text', id: hintId }, textOf(block.hint)) : null,
    h('p', { class: 'field-error', id: `${id}-error` }));
}

/** One native control per Herald input element; `draft` is what was typed before a rebuild. */
function inputControl(el, draft) {
  switch (el.type) {
    case 'plain_text_input': {
      const control = h(el.multiline ? 'textarea' : 'input', {
        type: el.multiline ? null : 'text', rows: el.multiline ? 5 : null, maxlength: el.max_length, minlength: el.min_length,
        placeholder: textOf(el.placeholder) || null, value: draft ?? el.initial_value ?? '',
      });
      control.dataset.kind = 'text';
      return control;
    }
    case 'static_select': {
      const control = h('select', {}, h('option', { value: '', disabled: true }, textOf(el.placeholder) || 'Choose an option'), optionNodes(el));
      control.value = draft ?? el.initial_option?.value ?? '';
      return control;
    }
    case 'users_select': {
      const people = Object.entries(ui.state.directory).filter(([, u]) => !u.isBot)
        .sort(([, a], [, b]) => (a.realName || a.name).localeCompare(b.realName || b.name));
      const control = h('select', {}, h('option', { value: '', disabled: true }, textOf(el.placeholder) || 'Choose a person'),
        people.map(([uid, u]) => h('option', { value: uid }, u.realName || u.name)));
      control.value = draft ?? el.initial_user ?? '';
      return control;
    }
    case 'datetimepicker': {
      // Without a suggestion, two minutes ahead (rounded up): Herald schedules at least a minute ahead.
      const initial = toLocalInput(el.initial_date_time ? new Date(el.initial_date_time * 1000) : new Date(Math.ceil((Date.now() + 120_000) / 60_000) * 60_000));
      const control = h('input', { type: 'datetime-local', value: draft ?? initial });
      control.dataset.kind = 'datetime';
      return control;
    }
    default:
      return h('input', { type: 'text', disabled: true, value: `(${el.type} is not supported in the sandbox)` });
  }
}

/** Server errors (view.errors) win over the page's own "required" messages. */
function showFieldErrors() {
  if (!ui.modal) return;
  const serverErrors = ui.modal.view.errors ?? {};
  for (const field of $$('#modal-body .field')) {
    const blockId = field.dataset.blockId;
    const message = serverErrors[blockId] || ui.modal.clientErrors.get(blockId) || '';
    const box = field.querySelector('.field-error');
    if (box.textContent !== message) box.textContent = message;
    field.querySelector('[data-action-id]')?.setAttribute('aria-invalid', String(Boolean(message)));
  }
}

/** values { block_id: { action_id: value } }; empty selects and dates are left out. */
function collectValues() {
  const values = {};
  const missing = [];
  for (const field of $$('#modal-body .field')) {
    const control = field.querySelector('[data-action-id]');
    if (!control || control.disabled) continue;
    const raw = control.value;
    let value;
    if (control.dataset.kind === 'datetime') {
      const seconds = raw ? Math.floor(new Date(raw).getTime() / 1000) : NaN;
      value = Number.isFinite(seconds) ? seconds : undefined;
    } else if (control.dataset.kind === 'text') {
      value = raw;
    } else {
      value = raw || undefined;
    }
    const empty = value === undefined || (typeof value === 'string' && !value.trim());
    if (control.required && empty) missing.push(field);
    if (value !== undefined) (values[field.dataset.blockId] ??= {})[control.dataset.actionId] = value;
  }
  return { values, missing };
}

async function submitModal(e) {
  e.preventDefault();
  const modal = ui.modal;
  const submit = $('#modal-submit');
  if (!modal || submit.getAttribute('aria-busy') === 'true') return;
  const { values, missing } = collectValues();
  if (missing.length) {
    for (const field of missing) modal.clientErrors.set(field.dataset.blockId, 'Please fill in this field.');
    showFieldErrors();
    missing[0].querySelector('[data-action-id]').focus();
    return;
  }
  submit.setAttribute('aria-busy', 'true');
  await act('view/submit', { user: ui.me, viewId: modal.viewId, values });
  submit.removeAttribute('aria-busy');
}

async function cancelModal() {
  if (!ui.modal) return;
  const viewId = ui.modal.viewId;
  ui.closingViews.add(viewId);
  renderAll();
  if (!(await act('view/close', { user: ui.me, viewId }))) {
    ui.closingViews.delete(viewId);
    renderAll();
  }
}

function hideModal() {
  ui.modal = null;
  $('#modal-backdrop').hidden = true;
  $('#app').inert = false;
  const back = ui.modalReturn;
  ui.modalReturn = null;
  const target = back?.el?.isConnected ? back.el : (back?.key && document.querySelector(back.key));
  (target ?? $('#composer')).focus();
}

/** Escape cancels; Tab and Shift+Tab stay inside the dialog. */
function modalKeys(e) {
  if (e.key === 'Escape') { e.preventDefault(); cancelModal(); return; }
  if (e.key !== 'Tab') return;
  const focusable = $$('input, select, textarea, button, a[href]', $('#modal')).filter((el) => !el.disabled && !el.hidden && el.offsetParent !== null);
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
  else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
}

// ---- Confirm dialog (button confirms, reset) ----

/** Resolves true when the person confirms. Accepts Block Kit text objects or plain strings. */
function confirmDialog({ title, text, confirm, deny, style }) {
  const dialog = $('#confirm');
  $('#confirm-title').textContent = textOf(title) || 'Are you sure?';
  $('#confirm-text').textContent = textOf(text);
  const ok = $('#confirm-ok');
  ok.textContent = textOf(confirm) || 'Confirm';
  ok.className = style === 'danger' ? 'danger' : 'primary';
  $('#confirm-deny').textContent = textOf(deny) || 'Cancel';
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true }));
}

// ---- Toasts ----

function toast(message, kind = 'info') {
  const box = $('#toasts');
  if ([...box.children].some((t) => t.dataset.message === message)) return;
  const item = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-message': message },
    h('span', {}, message),
    h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss notification', onclick: () => item.remove() }, '✕'));
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 12000 : 5000);
}

// ---- Guided tour ----

const TOUR_STEPS = 6;
const tour = { step: 0, met: false, timer: 0, base: null, nextBase: null, clicks: [] };

const userByRole = (role) => ui.state?.users.find((u) => u.role === role);
const firstName = (u) => (u?.realName || u?.name || 'them').split(/\s+/)[0];
const channelNamed = (name) => ui.state?.channels.find((c) => !c.isIm && c.name === name);
const hasApprove = (blocks) => elementsOf(blocks).some((el) => el.type === 'button' && String(el.action_id ?? '').includes(':approve:'));

/** The newest bot message with an Approve button (the draft card), with its channel. */
function latestDraftCard() {
  let found = null;
  for (const [channelId, list] of Object.entries(ui.state.messages)) {
    for (const m of list) if (isBotMsg(m) && hasApprove(m.blocks) && (!found || cmpTs(m.ts, found.m.ts) > 0)) found = { m, channelId };
  }
  return found;
}

function botTsMax(channelName) {
  const c = channelNamed(channelName);
  const list = (c && ui.state.messages[c.id]) || [];
  return list.filter(isBotMsg).reduce((max, m) => (cmpTs(m.ts, max) > 0 ? m.ts : max), '0');
}

const snapshotBase = () => ({ at: Date.now(), inboxTs: botTsMax('inbox') });

/** Remembers clicks on Approve buttons (with the ephemerals known before), for step 2. */
function tourNoteClick(actionId) {
  if (!actionId.includes(':approve:') || !ui.state) return;
  tour.clicks = [...tour.clicks.slice(-20), { user: ui.me, at: Date.now(), known: new Set(ui.state.ephemerals.map((e) => e.ts)) }];
}

function selfApprovalRefused(s) {
  const writer = userByRole('writer');
  if (!writer || s.me !== writer.id) return false;
  return tour.clicks.some((c) => c.user === writer.id && c.at >= tour.base.at
    && s.ephemerals.some((e) => !e.deleted && !c.known.has(e.ts)));
}

function inboxCardArrived(s) {
  const c = channelNamed('inbox');
  return Boolean(c) && (s.messages[c.id] ?? []).some((m) => isBotMsg(m) && cmpTs(m.ts, tour.base.inboxTs) > 0);
}

function digestArrived(s) {
  const c = channelNamed('digest');
  return Boolean(c) && (s.messages[c.id] ?? []).some((m) => isBotMsg(m)
    && (m.files?.length > 0 || (m.blocks ?? []).some((b) => b.type === 'image')));
}

const STEPS = [
  {
    role: 'writer',
    text: (n) => `You are ${n.writer}, a writer. Write a post idea in #drafts, then open its More actions menu (⋯) and choose the draft shortcut.`,
    start: () => { switchChannel('drafts'); switchUser(userByRole('writer')?.id); },
    done: (s) => Object.values(s.messages).some((list) => list.some((m) => isBotMsg(m) && hasApprove(m.blocks))),
    highlight: highlightDraft,
  },
  {
    role: 'writer',
    text: (n) => `As ${n.writer}, approve your own draft: Herald refuses, because writers cannot approve their own posts.`,
    done: selfApprovalRefused,
    highlight: () => highlightApprove('writer'),
  },
  {
    role: 'approver',
    text: (n) => `Switch to ${n.approver} (approver) and approve it, then press Schedule and save the time the form suggests (Herald needs at least a minute). It publishes then, on the network panel.`,
    done: (s) => (s.network?.posts ?? []).some((p) => p.ours),
    highlight: () => highlightApprove('approver'),
  },
  {
    role: null,
    text: () => 'A comment arrives: in the network panel, comment on the brand’s post as an outside person (choose who in “Act as”). Any Slack user will do here.',
    done: inboxCardArrived,
    highlight: highlightComment,
  },
  {
    role: 'responder',
    text: (n) => `Switch to ${n.responder} (responder), open that inbox card’s thread in #inbox and type a reply. It goes to the network.`,
    done: (s) => (s.network?.posts ?? []).some((p) => p.ours && p.inReplyTo),
    highlight: highlightInboxReply,
  },
  {
    role: null,
    text: () => 'As anyone, send the weekly digest now (the header button). It arrives in #digest with charts.',
    done: digestArrived,
    highlight: () => (tour.met ? [$('#channel-list [data-channel="digest"]')] : [$('#digest-now')]),
  },
];

function startTourOnLoad() {
  const saved = store.get(KEYS.tour);
  const resume = /^step:(\d)$/.exec(saved ?? '');
  if (resume && Number(resume[1]) >= 1 && Number(resume[1]) <= TOUR_STEPS) startStep(Number(resume[1]));
  else if (saved === null) offerTour();
}

function offerTour() {
  const offer = $('#tour-offer');
  if (!offer.open) offer.show();
  $('#tour-accept').focus();
}

function startStep(n) {
  clearTimeout(tour.timer);
  $('#tour-offer').close();
  tour.step = n;
  tour.met = false;
  tour.base = tour.nextBase ?? snapshotBase();
  tour.nextBase = null;
  store.set(KEYS.tour, `step:${n}`);
  STEPS[n - 1].start?.();
  renderTour();
  tourCheck();
}

function finishTour(message) {
  clearTimeout(tour.timer);
  tour.step = 0;
  tour.nextBase = null;
  store.set(KEYS.tour, 'done');
  renderTour();
  toast(message);
}

function advanceTour() {
  if (!tour.step || !tour.met) return;
  if (tour.step >= TOUR_STEPS) finishTour('Tour complete. Try /herald help next.');
  else startStep(tour.step + 1);
}

/** Latches a step's condition the first time it holds; the next step's baseline is taken then. */
function tourCheck() {
  if (!tour.step || !ui.state) return;
  if (!tour.met && STEPS[tour.step - 1].done(ui.state)) {
    tour.met = true;
    tour.nextBase = snapshotBase();
    clearTimeout(tour.timer);
    const last = tour.step === TOUR_STEPS;
    if (last) store.set(KEYS.tour, 'done'); // finished: the panel stays a moment to say so
    tour.timer = setTimeout(advanceTour, last ? 4000 : 500);
  }
  renderTour();
}

function renderTour() {
  const panel = $('#tour');
  panel.hidden = !tour.step;
  if (tour.step && ui.state) {
    const step = STEPS[tour.step - 1];
    const names = { writer: firstName(userByRole('writer')), approver: firstName(userByRole('approver')), responder: firstName(userByRole('responder')) };
    $('#tour-step').textContent = `Step ${tour.step} of ${TOUR_STEPS}`;
    $('#tour-text').textContent = step.text(names);
    const finished = tour.met && tour.step === TOUR_STEPS;
    const status = finished ? '✓ Done: that’s the tour! The sandbox is yours.' : tour.met ? '✓ Done. Moving on…' : 'Waiting for you to do this…';
    if ($('#tour-status').textContent !== status) $('#tour-status').textContent = status;
    const next = $('#tour-next');
    next.disabled = !tour.met;
    next.textContent = tour.step === TOUR_STEPS ? 'Finish' : 'Next';
    renderTourSwitch(step);
  }
  highlightTour();
}

/** "Switch to Alex" when the step wants another user than the acting one. */
function renderTourSwitch(step) {
  const box = $('#tour-extra');
  const wanted = step.role && meUser()?.role !== step.role ? userByRole(step.role) : null;
  const current = $('#tour-switch');
  if (current?.dataset.user === wanted?.id) return;
  box.replaceChildren(wanted ? h('button', {
    type: 'button', id: 'tour-switch', 'data-user': wanted.id,
    onclick: () => {
      if (step.role === 'responder') switchChannel('inbox');
      $('#user-switch').focus(); // this button goes away once the switch is done
      switchUser(wanted.id);
    },
  }, `Switch to ${firstName(wanted)}`) : '');
}

function highlightTour() {
  for (const el of $$('.tour-highlight')) el.classList.remove('tour-highlight');
  if (!tour.step || !ui.state) return;
  for (const el of STEPS[tour.step - 1].highlight()) el?.classList.add('tour-highlight');
}

function switchTargets(role) {
  return meUser()?.role === role ? null : [$('#user-switch'), $('#tour-switch')];
}

function highlightDraft() {
  if (ui.modal) return [$('#modal-submit')];
  const switching = switchTargets('writer');
  if (switching) return switching;
  const menu = $('.menu-wrap.open [role="menu"]');
  if (menu) {
    const items = $$('[role="menuitem"]', menu);
    return [items.find((i) => /draft/i.test(`${i.dataset.callbackId} ${i.textContent}`)) ?? items[0]];
  }
  const drafts = channelNamed('drafts');
  if (!drafts) return [$('#composer')];
  if (currentChannel()?.id !== drafts.id) return [$('#channel-list [data-channel="drafts"]')];
  const mine = (ui.state.messages[drafts.id] ?? []).filter((m) => m.user === ui.me && !isBotMsg(m) && !isReply(m));
  const last = mine[mine.length - 1];
  return [last ? $(`#messages [data-key="${CSS.escape(`m-${last.ts}`)}"] [data-more-actions]`) : $('#composer')];
}

function highlightApprove(role) {
  const switching = switchTargets(role);
  if (switching) return switching;
  const card = latestDraftCard();
  if (!card) return [];
  const c = channelById(card.channelId);
  if (currentChannel()?.id !== c?.id) return [$(`#channel-list [data-channel="${CSS.escape(channelKey(c))}"]`)];
  return [$(`#messages [data-key="${CSS.escape(`m-${card.m.ts}`)}"] [data-action-id*=":approve:"]`)];
}

function highlightComment() {
  const open = $('#net-feed [data-send-comment]');
  if (open) return [open];
  return [$('#net-person'), $('#net-feed .post[data-ours] [data-net-action="comment"]')];
}

function highlightInboxReply() {
  const switching = switchTargets('responder');
  if (switching) return switching;
  const inbox = channelNamed('inbox');
  if (!inbox) return [];
  if (ui.thread?.channelId === inbox.id) return [$('#thread-composer')];
  if (currentChannel()?.id !== inbox.id) return [$('#channel-list [data-channel="inbox"]')];
  const cards = (ui.state.messages[inbox.id] ?? []).filter((m) => isBotMsg(m) && !isReply(m));
  const last = cards[cards.length - 1];
  if (!last) return [];
  const article = $(`#messages [data-key="${CSS.escape(`m-${last.ts}`)}"]`);
  return [article?.querySelector('[data-open-thread]') ?? article?.querySelector('[data-reply]')];
}

// ---- Live updates ----

function connectEvents() {
  const events = new EventSource('/sandbox/api/events');
  const status = $('#connection');
  events.onmessage = () => scheduleRefresh();
  events.onopen = () => {
    if (status.textContent) status.textContent = '';
    scheduleRefresh();
  };
  events.onerror = () => {
    status.textContent = 'Reconnecting to the sandbox…';
    if (events.readyState === EventSource.CLOSED) {
      events.close();
      setTimeout(connectEvents, 3000);
    }
  };
}

// ---- Static controls and start-up ----

function wireControls() {
  $('#user-switch').addEventListener('change', (e) => switchUser(e.target.value));
  $('#digest-now').addEventListener('click', () =>
    act('digest', { user: ui.me }, 'Weekly digest requested. It will arrive in #digest.'));
  $('#reset').addEventListener('click', async () => {
    const sure = await confirmDialog({
      title: 'Reset the sandbox?', text: 'This wipes every message, draft, network post and setting of the sandbox.',
      confirm: 'Reset', deny: 'Cancel', style: 'danger',
    });
    if (!sure) return;
    if (await act('reset', {}, 'The sandbox was reset.')) {
      Object.assign(ui, { thread: null, openMenu: null });
      ui.dismissed.clear();
      ui.comments.clear();
      ui.lastSeen.clear();
      ui.state = null; // the next state counts as a first load (nothing unread)
      refresh();
    }
  });
  const beginTour = () => { tour.nextBase = null; startStep(1); $('#tour').focus(); };
  $('#tour-start').addEventListener('click', beginTour);
  $('#tour-accept').addEventListener('click', beginTour);
  $('#tour-decline').addEventListener('click', () => {
    $('#tour-offer').close();
    store.set(KEYS.tour, 'done');
    toast('You can take the tour later with “Guided tour” in the header.');
  });
  $('#tour-offer').addEventListener('keydown', (e) => { if (e.key === 'Escape') $('#tour-decline').click(); });
  $('#tour-next').addEventListener('click', advanceTour);
  $('#tour-skip').addEventListener('click', () => finishTour('Tour skipped. “Guided tour” in the header starts it again.'));

  wireComposer($('#composer'), $('#composer-form'), () => currentChannel() && { channelId: currentChannel().id });
  wireComposer($('#thread-composer'), $('#thread-form'), () => ui.thread && { channelId: ui.thread.channelId, threadTs: ui.thread.ts });
  $('#composer').addEventListener('input', renderSlashHints);
  $('#thread-close').addEventListener('click', closeThread);
  $('#thread').addEventListener('keydown', (e) => { if (e.key === 'Escape' && !e.defaultPrevented && !ui.openMenu) closeThread(); });

  $('#modal-form').addEventListener('submit', submitModal);
  $('#modal-cancel').addEventListener('click', cancelModal);
  $('#modal').addEventListener('keydown', modalKeys);

  $('#net-mention').addEventListener('click', sendMention);
  $('#net-follow').addEventListener('click', () => networkAct('follow', {}, 'Followed the brand'));
  $('#net-pileon').addEventListener('click', () => networkAct('pileon', {}, 'Pile-on started'));

  for (const id of Object.keys(ui.stick)) {
    const list = document.getElementById(id);
    list.addEventListener('scroll', () => { ui.stick[id] = isAtBottom(list); }, { passive: true });
  }
  // A click outside an open More actions menu closes it (clicks on nodes a render replaced are ignored).
  document.addEventListener('click', (e) => {
    if (ui.openMenu && e.target.isConnected && !e.target.closest('.menu-wrap.open')) closeMenu(false);
  });
}

wireControls();
refresh();
connectEvents();
