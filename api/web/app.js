// The web messenger page: the customer's side of a web integration. It keeps the visitor's device
// guid and credential in localStorage, creates the visitor's user on their first message (as the
// Web SDK does), and shows the conversation live through the conversation's event stream.

import { ApiError, Client } from './client.js';
import { message as renderMessage, quickReplies } from './render.js';

const $ = (id) => document.getElementById(id);
const integrationId = document.body.dataset.integrationId;
const storageKey = `sunlamp.web.${integrationId}`;
const client = new Client(integrationId);

const state = {
  config: null,
  guid: null,
  user: null,
  conversations: [],
  conversationId: null,
  messages: [],
  businessLastRead: null,
  lastReadSent: null,
  typing: false,
  typingTimer: null,
  streamAbort: null,
  submittedForms: new Set(),
};

function load() {
  try { return JSON.parse(localStorage.getItem(storageKey)) || {}; } catch { return {}; }
}

function save() {
  localStorage.setItem(storageKey, JSON.stringify({ guid: state.guid, token: client.token, conversationId: state.conversationId }));
}

function newGuid() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function notice(text) {
  const n = $('notice');
  n.textContent = text || '';
  n.hidden = !text;
}

const validColor = (c) => typeof c === 'string' && /^[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(c);

// applyConfig shows the integration's settings: brand, conversation and action colours, the
// business name and icon, the background image, the prechat capture form.
function applyConfig(cfg) {
  const i = cfg.integration || {};
  const root = document.documentElement.style;
  if (validColor(i.brandColor)) root.setProperty('--brand', `#${i.brandColor}`);
  if (validColor(i.conversationColor)) root.setProperty('--conversation', `#${i.conversationColor}`);
  if (validColor(i.actionColor)) root.setProperty('--action', `#${i.actionColor}`);
  const name = i.businessName || i.displayName || document.title;
  $('business-name').textContent = name;
  $('intro-title').textContent = name;
  document.title = name;
  for (const id of ['business-icon', 'intro-icon']) {
    if (i.businessIconUrl) {
      $(id).src = i.businessIconUrl;
      $(id).hidden = false;
    }
  }
  if (i.backgroundImageUrl) {
    try {
      const u = new URL(i.backgroundImageUrl);
      if (u.protocol === 'https:' || u.protocol === 'http:') {
        $('log').style.backgroundImage = `url("${u.toString().replace(/["\\]/g, '')}")`;
      }
    } catch { /* not a URL */ }
  }
}

function multiConvo() {
  const i = (state.config && state.config.integration) || {};
  return state.config && state.config.app.multiConvoEnabled && i.canUserSeeConversationList !== false;
}

function canCreateConversations() {
  const i = (state.config && state.config.integration) || {};
  return multiConvo() && i.canUserCreateMoreConversations !== false;
}

// prechat shows the prechat capture form of a visitor without a user yet.
function showPrechat() {
  const p = (state.config.integration || {}).prechatCapture;
  const form = $('prechat');
  if (!p || !p.enabled || client.token || !(p.fields || []).length) {
    form.hidden = true;
    return false;
  }
  form.replaceChildren();
  const inputs = [];
  p.fields.forEach((f, i) => {
    const row = document.createElement('div');
    row.className = 'form-row';
    const label = document.createElement('label');
    label.textContent = f.label;
    label.htmlFor = `prechat-${i}`;
    let input;
    if (f.type === 'select') {
      input = document.createElement('select');
      for (const o of f.options || []) {
        const opt = document.createElement('option');
        opt.value = o.name;
        opt.textContent = o.label;
        input.append(opt);
      }
    } else {
      input = document.createElement('input');
      input.type = f.type === 'email' ? 'email' : 'text';
      input.required = true;
      if (f.placeholder) input.placeholder = f.placeholder;
    }
    input.id = `prechat-${i}`;
    row.append(label, input);
    form.append(row);
    inputs.push({ f, input });
  });
  const submit = document.createElement('button');
  submit.type = 'submit';
  submit.className = 'action action-button';
  submit.textContent = 'Start chatting';
  form.append(submit);
  form.hidden = false;
  $('composer').hidden = true;
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const fields = inputs.map(({ f, input }) => {
      const out = { type: f.type, name: f.name, label: f.label };
      if (f.type === 'email') out.email = input.value;
      else if (f.type === 'select') {
        const o = (f.options || []).find((x) => x.name === input.value) || { name: input.value, label: input.value };
        out.select = [{ name: o.name, label: o.label }];
      } else out.text = input.value;
      return out;
    });
    if (await createVisitor({ type: 'formResponse', fields })) {
      form.hidden = true;
      $('composer').hidden = false;
    }
  };
  return true;
}

// createVisitor makes the visitor's user with their first message.
async function createVisitor(content) {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const res = await client.createVisitor({
        guid: state.guid,
        locale: navigator.language,
        info: {
          currentTitle: document.title, currentUrl: location.href, browserLanguage: navigator.language,
          referrer: document.referrer, userAgent: navigator.userAgent, sdkVersion: 'sunlamp-web-1',
        },
        content,
      });
      client.token = res.token;
      state.user = res.user;
      if (res.conversation) {
        state.conversationId = res.conversation.id;
        state.conversations = [res.conversation];
      }
      save();
      await openConversation(state.conversationId);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && attempt === 0) {
        state.guid = newGuid(); // the guid was taken: a new device
        save();
        continue;
      }
      notice(e.message);
      return false;
    }
  }
  return false;
}

async function send(content) {
  notice('');
  stopTyping();
  if (!client.token || !state.conversationId) return createVisitor(content);
  try {
    const res = await client.send(state.conversationId, content);
    addMessages(res.messages);
    return true;
  } catch (e) {
    notice(e.message);
    return false;
  }
}

function addMessages(list) {
  let added = false;
  for (const m of list || []) {
    if (state.messages.some((x) => x.id === m.id)) continue;
    state.messages.push(m);
    added = true;
  }
  if (added) {
    state.messages.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    render();
  }
}

const handlers = {
  businessName: () => $('business-name').textContent,
  isSubmitted: (m) => state.submittedForms.has(m.id),
  formAnswer,
  async postback(m, a, button) {
    button.disabled = true;
    try {
      await client.postback(state.conversationId, m.id, a.payload);
    } catch (e) {
      notice(e.message);
    } finally {
      button.disabled = false;
    }
  },
  locationRequest(a, button) {
    if (!navigator.geolocation) {
      notice('Your browser cannot share its location.');
      return;
    }
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        button.disabled = false;
        send({ type: 'location', coordinates: { lat: pos.coords.latitude, long: pos.coords.longitude } });
      },
      () => {
        button.disabled = false;
        notice('Your location could not be shared.');
      },
    );
  },
  buy(a) {
    // The Web SDK's buy button opened a payment form (Stripe); Sunlamp takes no payments: it says so.
    notice(`Payments are not available here (${a.text}).`);
  },
  async submitForm(m, fields) {
    const ok = await send({ type: 'formResponse', fields: fields.map((f) => ({ ...f, quotedMessageId: m.id })) });
    if (ok) state.submittedForms.add(m.id);
    return ok;
  },
};

// formAnswer returns the answers (by field name) of the visitor's later formResponse to form m's
// fields, or null.
function formAnswer(m) {
  const names = ((m.content || {}).fields || []).map((f) => f.name).sort().join(',');
  const r = state.messages.find((x) => x.id > m.id && x.content && x.content.type === 'formResponse'
    && (x.content.fields || []).map((f) => f.name).sort().join(',') === names);
  if (!r) return null;
  return Object.fromEntries(r.content.fields.map((f) => [f.name, f]));
}

function render() {
  const box = $('messages');
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  const appended = state.messages.length !== box.children.length;
  // Messages already on the page stay as they are (a form being filled keeps its input and focus);
  // new ones are appended, and a form answered since is drawn again.
  const have = [...box.children];
  const sameStart = have.length <= state.messages.length && have.every((n, i) => n.dataset.id === state.messages[i].id);
  const draw = (m) => {
    const art = renderMessage(m, handlers);
    if (m.content && m.content.type === 'form' && formAnswer(m)) art.dataset.answered = 'true';
    return art;
  };
  if (!sameStart) {
    box.replaceChildren(...state.messages.map(draw));
  } else {
    for (const m of state.messages.slice(have.length)) box.append(draw(m));
    for (const art of box.querySelectorAll('article.msg-form:not([data-answered])')) {
      const m = state.messages.find((x) => x.id === art.dataset.id);
      if (m && formAnswer(m)) art.replaceWith(draw(m));
    }
  }
  for (const n of box.querySelectorAll('.seen')) n.remove();
  $('intro').hidden = state.messages.length > 0 && !(state.config.integration || {}).fixedIntroPane;
  // "Seen" under the visitor's last message once the business has read the conversation.
  const lastUser = [...state.messages].reverse().find((m) => m.author && m.author.type === 'user');
  if (lastUser && state.businessLastRead && state.businessLastRead >= lastUser.received) {
    const art = box.querySelector(`article[data-id="${lastUser.id}"] .meta`);
    if (art) {
      const seen = document.createElement('span');
      seen.className = 'seen';
      seen.textContent = 'Seen';
      art.append(seen);
    }
  }
  // Quick replies under the last message.
  const qr = $('quick-replies');
  const replies = quickReplies(state.messages[state.messages.length - 1]);
  qr.replaceChildren(...replies.map((a) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'quick-reply';
    if (a.iconUrl) {
      const img = document.createElement('img');
      img.src = a.iconUrl;
      img.alt = '';
      b.append(img);
    }
    b.append(a.text);
    b.addEventListener('click', () => send({ type: 'text', text: a.text, payload: a.payload }));
    return b;
  }));
  qr.hidden = replies.length === 0;
  const last = state.messages[state.messages.length - 1];
  $('text').disabled = !!(last && last.content && last.content.blockChatInput);
  if (atBottom || appended) log.scrollTop = log.scrollHeight;
  markRead();
}

// markRead tells the business the visitor has seen the latest message (conversation:read), once
// per new message, while the page is visible.
function markRead() {
  const last = state.messages[state.messages.length - 1];
  if (!last || !client.token || document.visibilityState !== 'visible' || state.lastReadSent === last.id) return;
  if (last.author && last.author.type === 'user') return;
  state.lastReadSent = last.id;
  client.activity(state.conversationId, 'conversation:read').catch(() => {});
}

function startTyping() {
  if (!client.token || !state.conversationId) return;
  if (!state.typing) {
    state.typing = true;
    client.activity(state.conversationId, 'typing:start').catch(() => {});
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, 3000);
}

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typing && client.token && state.conversationId) {
    client.activity(state.conversationId, 'typing:stop').catch(() => {});
  }
  state.typing = false;
}

// later returns the later of two times (ISO 8601 in UTC, which compare as strings), either may be
// null: a read receipt that arrived while a refresh was on its way is not undone by the refresh's
// older answer.
function later(a, b) {
  if (!a) return b || null;
  if (!b) return a;
  return a > b ? a : b;
}

async function refresh() {
  if (!state.conversationId) return;
  const last = state.messages[state.messages.length - 1];
  const res = await client.messages(state.conversationId, last && last.id);
  if (res.conversation) state.businessLastRead = later(state.businessLastRead, res.conversation.businessLastRead);
  addMessages(res.messages);
  render();
  if (res.hasMore && last) await refresh();
}

// listen keeps the conversation's event stream open, reconnecting, and reads what it missed.
async function listen(conversationId) {
  if (state.streamAbort) state.streamAbort.abort();
  const abort = new AbortController();
  state.streamAbort = abort;
  let delay = 250;
  while (!abort.signal.aborted && state.conversationId === conversationId) {
    try {
      await client.stream(conversationId, (name, data) => {
        if (name === 'ready') {
          delay = 250;
          refresh().catch(() => {});
        } else if (name === 'message') {
          refresh().catch(() => {});
        } else if (name === 'typing') {
          $('typing').textContent = data.type === 'typing:start' ? `${data.name || handlers.businessName()} is typing…` : '';
        } else if (name === 'read') {
          state.businessLastRead = later(state.businessLastRead, data.at);
          render();
        }
      }, abort.signal);
    } catch (e) {
      if (abort.signal.aborted) return;
      if (e instanceof ApiError && e.status === 401) return signOut();
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

async function openConversation(id) {
  state.conversationId = id;
  state.messages = [];
  state.lastReadSent = null;
  save();
  $('conversation-list').hidden = true;
  $('conversation').hidden = false;
  $('back').hidden = !multiConvo();
  $('new-conversation').hidden = true;
  render();
  if (!id) return;
  const res = await client.messages(id);
  state.businessLastRead = (res.conversation || {}).businessLastRead || null;
  addMessages(res.messages);
  render();
  listen(id);
}

function showConversationList() {
  if (state.streamAbort) state.streamAbort.abort();
  $('conversation').hidden = true;
  $('conversation-list').hidden = false;
  $('back').hidden = true;
  $('new-conversation').hidden = !canCreateConversations();
  const ul = $('conversations');
  ul.replaceChildren(...state.conversations.map((c, i) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'conversation-item';
    b.textContent = c.displayName || (c.isDefault ? 'Conversation' : `Conversation ${i + 1}`);
    b.addEventListener('click', () => openConversation(c.id));
    li.append(b);
    return li;
  }));
}

async function signOut() {
  if (state.streamAbort) state.streamAbort.abort();
  client.token = null;
  state.user = null;
  state.conversationId = null;
  state.conversations = [];
  state.messages = [];
  save();
  render();
  showPrechat();
}

// login makes the visitor a known user: a user JWT (HS256, signed with an app key, header kid,
// claims scope "user" and external_id), as the Web SDK's login. The host site calls
// window.sunlamp.login(jwt), or posts {type: "sunlamp:login", jwt} to the page's window.
async function login(jwt) {
  const res = await client.login(jwt);
  client.token = res.token;
  state.user = res.user;
  state.conversations = res.conversations || [];
  const def = state.conversations.find((c) => c.isDefault) || state.conversations[0];
  state.conversationId = def ? def.id : null;
  save();
  $('prechat').hidden = true;
  $('composer').hidden = false;
  await openConversation(state.conversationId);
  return res.user;
}

window.sunlamp = {
  login,
  logout: async () => {
    if (client.token) await client.endSession().catch(() => {});
    return signOut();
  },
};

// Only the site that frames the page may log its visitor in (not a window that opened it, nor a frame
// inside it); which sites may frame it is the integration's originWhitelist, enforced by the page's
// frame-ancestors policy.
window.addEventListener('message', (ev) => {
  if (window.parent === window || ev.source !== window.parent) return;
  if (ev.data && ev.data.type === 'sunlamp:login' && typeof ev.data.jwt === 'string') login(ev.data.jwt).catch((e) => notice(e.message));
});

async function start() {
  const saved = load();
  state.guid = saved.guid || newGuid();
  client.token = saved.token || null;
  state.conversationId = saved.conversationId || null;
  save();
  try {
    state.config = await client.config();
  } catch (e) {
    notice(e.message);
    return;
  }
  applyConfig(state.config);

  $('composer').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('text').value.trim();
    if (!text) return;
    $('send').disabled = true;
    if (await send({ type: 'text', text })) $('text').value = '';
    $('send').disabled = false;
    $('text').focus();
  });
  $('text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('text').addEventListener('input', () => { if ($('text').value) startTyping(); else stopTyping(); });
  $('attach').addEventListener('change', async () => {
    const f = $('attach').files[0];
    $('attach').value = '';
    if (!f) return;
    if (!client.token || !state.conversationId) {
      notice('Send a message first, then attach files.');
      return;
    }
    try {
      const { attachment } = await client.upload(state.conversationId, f);
      const type = (attachment.mediaType || '').startsWith('image/') ? 'image' : 'file';
      await send({ type, mediaUrl: attachment.mediaUrl });
    } catch (e) {
      notice(e.message);
    }
  });
  $('back').addEventListener('click', showConversationList);
  $('new-conversation').addEventListener('click', async () => {
    try {
      const { conversation } = await client.createConversation();
      state.conversations.push(conversation);
      await openConversation(conversation.id);
    } catch (e) {
      notice(e.message);
    }
  });
  document.addEventListener('visibilitychange', markRead);

  if (client.token) {
    try {
      const s = await client.session();
      state.user = s.user;
      state.conversations = s.conversations;
      if (!state.conversations.some((c) => c.id === state.conversationId)) {
        const def = state.conversations.find((c) => c.isDefault) || state.conversations[0];
        state.conversationId = def ? def.id : null;
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        client.token = null;
        state.conversationId = null;
        save();
      } else {
        notice(e.message);
      }
    }
  }
  if (!client.token) showPrechat();
  if (multiConvo() && state.conversations.length > 1) showConversationList();
  else await openConversation(state.conversationId);
  document.body.dataset.ready = 'true';
}

start();
