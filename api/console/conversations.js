// Conversations: every conversation of the app, most recently active first, searched and paged on
// the server (GET /_sunlamp/v1/apps/{appId}/conversations); a conversation's messages (ListMessages,
// the latest page first, older ones on demand), participants, switchboard state and actions, a
// composer that answers as the business (PostMessage), and the customer's side (the web messenger
// page, or the inbound simulator). New messages arrive live (GET .../events, Server-Sent Events).
// The conversion events recorded on the conversation (PostConversionEvents) are listed from
// GET /_sunlamp/v1/apps/{appId}/conversations/{conversationId}/conversionEvents.

import * as api from './api.js';
import { h, field, section, empty, loading, showError, errorBox, busy, announce, time, ago, dl, json, userName, copyButton } from './ui.js';
import * as msgs from './render.js';
import { customerSide, takesActions } from './customer.js';

export async function render(main, ctx) {
  return ctx.id ? conversation(main, ctx) : list(main, ctx);
}

const appPath = (ctx) => `/v2/apps/${api.enc(ctx.appId)}`;

function title(c) {
  if (c.displayName) return c.displayName;
  const names = (c.participants || []).map((p) => userName(p)).filter(Boolean);
  if (names.length) return names.join(', ') + (c.participantCount > names.length ? ` +${c.participantCount - names.length}` : '');
  return c.type === 'sdkGroup' ? 'Group conversation' : 'Conversation';
}

async function list(main, ctx) {
  const q = h('input', { name: 'q', type: 'search', value: ctx.query.q || '', spellcheck: 'false', placeholder: 'name, email, externalId, user or conversation id' });
  const type = h('select', { name: 'type' }, [['', 'All types'], ['personal', 'Personal'], ['sdkGroup', 'Group (sdkGroup)']]
    .map(([v, t]) => h('option', { value: v, selected: (ctx.query.type || '') === v }, t)));
  const go = h('button.primary', { type: 'submit' }, 'Search');
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const search = field('Search conversations', q);
  search.classList.add('grow');
  const form = h('form.filters', { role: 'search' }, search, field('Type', type), go, refresh);
  const slot = h('div', loading());
  const pager = h('div.pager');
  main.append(h('h1', 'Conversations'), form, h('section.panel', { 'aria-label': 'Conversations' }, slot, pager));
  let cursor = { after: ctx.query.after, before: ctx.query.before };

  async function load() {
    const started = performance.now();
    try {
      const res = await api.get(`/_sunlamp/v1/apps/${api.enc(ctx.appId)}/conversations`, { query: {
        'filter[q]': q.value.trim(), 'filter[type]': type.value, 'page[after]': cursor.after, 'page[before]': cursor.before, 'page[size]': 25 } });
      document.body.dataset.listMs = String(Math.round(performance.now() - started));
      pager.replaceChildren();
      if (!res.conversations.length) {
        slot.replaceChildren(q.value || type.value
          ? empty('No conversation matches.', 'Search matches a conversation or user id, an externalId exactly, or part of a display name, a user\u2019s name or email.')
          : empty('No conversations yet.', 'A conversation starts when a customer writes in: open the web messenger of a web integration (Webhooks lists the integrations), use the inbound simulator (POST /_sunlamp/v1/apps/{appId}/inbound), or create one with POST /v2/apps/{appId}/conversations.'));
        return;
      }
      slot.replaceChildren(h('ul.rows', res.conversations.map((c) => {
        const lm = c.lastMessage;
        const who = lm ? (lm.authorType === 'business' ? lm.authorDisplayName || 'Business' : userName((c.participants || [])[0]) || 'User') : '';
        const sb = c.activeSwitchboardIntegration;
        return h('li', h('a.row', { href: ctx.appHash(ctx.appId, 'conversations', c.id) },
          h('span.grow', h('strong', title(c)), ' ', h('span.muted', c.type === 'sdkGroup' ? 'group' : ''),
            h('span.preview', lm ? `${who}: ${lm.text || `[${lm.contentType}]`}` : 'No messages yet')),
          sb ? h('span.badge', { title: 'In control (switchboard)' }, sb.name) : null,
          h('span.row-side', `${c.messageCount} message${c.messageCount === 1 ? '' : 's'} · `, h('time', { datetime: c.lastUpdatedAt, title: c.lastUpdatedAt }, ago(c.lastUpdatedAt)))));
      })));
      const m = res.meta || {};
      const newer = h('button', { type: 'button', disabled: !m.beforeCursor }, '\u2190 Newer');
      const older = h('button', { type: 'button', disabled: !(m.hasMore || (cursor.before && m.afterCursor)) || !m.afterCursor }, 'Older \u2192');
      newer.addEventListener('click', () => { cursor = { before: m.beforeCursor }; keep(); load(); });
      older.addEventListener('click', () => { cursor = { after: m.afterCursor }; keep(); load(); });
      pager.append(newer, older);
    } catch (err) {
      showError(slot, err, 'Listing the conversations');
    }
  }
  function keep() {
    history.replaceState(null, '', ctx.appHash(ctx.appId, 'conversations', null, { q: q.value.trim(), type: type.value, after: cursor.after, before: cursor.before }));
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    cursor = {};
    keep();
    busy(go, load);
  });
  refresh.addEventListener('click', () => busy(refresh, load));
  await load();
}

// conversation shows one conversation and keeps it live until the view closes.
async function conversation(main, ctx) {
  const base = `${appPath(ctx)}/conversations/${api.enc(ctx.id)}`;
  const head = h('h1', 'Conversation');
  const live = h('span.live.off', { role: 'status' }, 'Connecting…');
  main.append(h('p', h('a', { href: ctx.appHash(ctx.appId, 'conversations') }, '\u2190 Conversations')), h('div.conv-head', head, live));
  // Everything the view needs, in two rounds of parallel requests: what names the conversation,
  // then what depends on its participants and switchboard.
  const settle = (p) => p.catch((e) => e);
  const [got, parts, integrations, switchboards, latest] = await Promise.all([
    settle(api.get(base)),
    settle(api.get(`${base}/participants`)),
    settle(api.get(`${appPath(ctx)}/integrations`)),
    settle(api.get(`${appPath(ctx)}/switchboards`)),
    settle(api.get(`${base}/messages`)),
    msgs.ready,
    takesActions(ctx),
  ]);
  if (got instanceof Error) {
    main.append(errorBox(got, 'Loading the conversation'));
    return null;
  }
  const conv = got.conversation;
  const abort = new AbortController();
  const participants = parts instanceof Error ? [] : parts.participants;
  const users = new Map();
  const sb = switchboards instanceof Error ? null : (switchboards.switchboards || [])[0];
  const first = participants[0];
  const [sis, clients] = await Promise.all([
    sb ? settle(api.get(`${appPath(ctx)}/switchboards/${api.enc(sb.id)}/switchboardIntegrations`)) : null,
    first ? settle(api.get(`${appPath(ctx)}/users/${api.enc(first.userId)}/clients`)) : null,
    ...participants.slice(0, 10).map((p) => api.get(`${appPath(ctx)}/users/${api.enc(p.userId)}`).then((r) => users.set(p.userId, r.user), () => {})),
  ]);
  head.textContent = conv.displayName || participants.map((p) => userName(users.get(p.userId)) || p.userExternalId || p.userId).join(', ') || 'Conversation';

  // The thread
  const thread = h('div.thread', { role: 'log', 'aria-label': 'Messages', 'aria-live': 'polite', tabindex: '0' });
  const typing = h('p.typing', { 'aria-live': 'polite' });
  const threadErr = h('div');
  const seen = new Set();
  let lastId = null;
  let olderCursor = null;
  let count = 0;
  const customer = { postback: null, reply: null };
  const olderButton = h('button.older.small', { type: 'button' }, 'Load older messages');

  const draw = (m) => msgs.message(m, customer);
  function nearBottom() {
    return thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
  }
  async function loadLatest(pre) {
    const res = pre || await api.get(`${base}/messages`);
    thread.replaceChildren();
    seen.clear();
    for (const m of res.messages) {
      seen.add(m.id);
      thread.append(draw(m));
    }
    count = res.messages.length;
    lastId = res.messages.length ? res.messages[res.messages.length - 1].id : null;
    olderCursor = res.meta && res.meta.hasMore ? res.meta.beforeCursor : null;
    if (olderCursor) thread.prepend(olderButton);
    if (!res.messages.length) thread.append(empty('No messages yet.', 'Answer as the business below, or write as the customer.'));
    thread.scrollTop = thread.scrollHeight;
  }
  olderButton.addEventListener('click', () => busy(olderButton, async () => {
    try {
      const res = await api.get(`${base}/messages`, { query: { 'page[before]': olderCursor } });
      const height = thread.scrollHeight;
      const frag = document.createDocumentFragment();
      for (const m of res.messages) {
        if (seen.has(m.id)) continue;
        seen.add(m.id);
        frag.append(draw(m));
      }
      olderButton.after(frag);
      olderCursor = res.meta && res.meta.hasMore ? res.meta.beforeCursor : null;
      if (!olderCursor) olderButton.remove();
      thread.scrollTop += thread.scrollHeight - height;
    } catch (err) {
      showError(threadErr, err, 'Loading older messages');
    }
  }));
  let fetching = null;
  // newer reads the messages after the last one shown.
  async function newer() {
    if (fetching) {
      fetching.again = true;
      return;
    }
    fetching = { again: false };
    try {
      do {
        fetching.again = false;
        const stick = nearBottom();
        const res = await api.get(`${base}/messages`, { query: lastId ? { 'page[after]': lastId } : {} });
        const emptyState = thread.querySelector('.empty');
        for (const m of res.messages) {
          if (seen.has(m.id)) continue;
          seen.add(m.id);
          if (emptyState) emptyState.remove();
          thread.append(draw(m));
          lastId = m.id;
          announce(`New message from ${(m.author && m.author.displayName) || m.author.type}`);
        }
        if (res.meta && res.meta.hasMore) fetching.again = true;
        if (stick) thread.scrollTop = thread.scrollHeight;
      } while (fetching.again);
    } catch (err) {
      showError(threadErr, err, 'Reading new messages');
    } finally {
      fetching = null;
    }
  }
  // The customer's side first: it gives the messages' postback and quick reply buttons their action.
  const customerPanel = await customerSide(ctx, { conv, user: first ? users.get(first.userId) || { id: first.userId } : null, clients, integrations, handlers: customer, after: () => newer() });
  if (latest instanceof Error) showError(threadErr, latest, 'Loading the messages');
  else await loadLatest(latest);

  // Live
  let typingTimer = null;
  let state = null;
  async function watch() {
    while (!abort.signal.aborted) {
      try {
        await api.stream(`/_sunlamp/v1/apps/${api.enc(ctx.appId)}/conversations/${api.enc(ctx.id)}/events`, (name, data) => {
          switch (name) {
            case 'ready':
              live.className = 'live on';
              live.textContent = 'Live';
              if (state && (data.messageCount !== state.messageCount || data.lastUpdatedAt !== state.lastUpdatedAt)) newer();
              state = data;
              break;
            case 'message':
              if (state && data.messageCount < state.messageCount) loadLatest().catch((e) => showError(threadErr, e, 'Loading the messages'));
              else newer();
              state = data;
              break;
            case 'conversation':
              state = data;
              refreshSwitchboard();
              break;
            case 'typing': {
              const who = data.role === 'user' ? userName(users.get(data.userId)) || 'The user' : data.name || 'The business';
              typing.textContent = data.type === 'typing:start' ? `${who} is typing…` : '';
              clearTimeout(typingTimer);
              typingTimer = setTimeout(() => { typing.textContent = ''; }, 15000);
              break;
            }
            default:
          }
        }, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) return;
        live.className = 'live off';
        live.textContent = `Reconnecting (${err.code || err.message})`;
        await new Promise((r) => setTimeout(r, 2000));
        continue;
      }
      live.className = 'live off';
      live.textContent = 'Reconnecting…';
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  // The business's composer
  const composer = businessComposer(base, () => newer());

  // Side panels
  const sbPanel = h('div');
  let refreshSwitchboard = () => {};
  if (switchboards instanceof Error) sbPanel.append(section('Switchboard', errorBox(switchboards, 'Reading the switchboard')));
  else if (!sb) sbPanel.append(section('Switchboard', empty('This app has no switchboard.', 'Create one with POST /v2/apps/{appId}/switchboards to pass control between integrations.')));
  else refreshSwitchboard = switchboardPanel(sbPanel, ctx, base, sb, conv, sis);

  const side = h('div.conv-side',
    section('Details', dl([['Id', h('span', h('code', conv.id), ' ', copyButton(conv.id, 'Copy id'))], ['Type', conv.type], ['Default', conv.isDefault ? 'yes' : 'no'],
      ['Created', time(conv.createdAt)], ['Business read', time(conv.businessLastRead)], ['Metadata', conv.metadata && Object.keys(conv.metadata).length ? h('code', JSON.stringify(conv.metadata)) : null]])),
    section('Participants', participants.length ? h('ul.rows', participants.map((p) => h('li', h('a.row', { href: ctx.appHash(ctx.appId, 'users', p.userId) },
      h('strong', userName(users.get(p.userId)) || p.userId), p.userExternalId ? h('code.muted', p.userExternalId) : null,
      h('span.row-side', (p.clientAssociations || []).map((a) => a.type).join(', ') || 'no client')))))
      : empty('No participants.', 'Users join with POST .../conversations/{id}/join.')),
    sbPanel,
    conversionEventsPanel(ctx, conv.id));

  main.append(h('div.conv-layout', h('div', thread, typing, threadErr, composer, customerPanel), side));
  thread.scrollTop = thread.scrollHeight;
  watch();
  return () => abort.abort();
}

// actionEditor edits a message's actions: quick replies, postback buttons, links.
function actionEditor() {
  const rows = h('div');
  let n = 0;
  function add(kind) {
    const i = ++n;
    const type = h('select', { 'aria-label': `Action ${i} type` }, [['reply', 'Quick reply'], ['postback', 'Postback button'], ['link', 'Link button']]
      .map(([v, t]) => h('option', { value: v, selected: v === kind }, t)));
    const label = h('input', { 'aria-label': `Action ${i} text`, placeholder: 'Text', required: true, maxlength: 128 });
    const value = h('input', { 'aria-label': `Action ${i} payload or URL`, placeholder: 'Payload', required: true });
    const remove = h('button.small', { type: 'button', 'aria-label': `Remove action ${i}` }, 'Remove');
    const row = h('div.action-row', type, label, value, remove);
    const hint = () => { value.placeholder = type.value === 'link' ? 'https://…' : 'Payload'; };
    type.addEventListener('change', hint);
    hint();
    remove.addEventListener('click', () => row.remove());
    rows.append(row);
    label.focus();
  }
  function read() {
    return [...rows.children].map((r) => {
      const [type, label, value] = r.querySelectorAll('select, input');
      return type.value === 'link' ? { type: 'link', text: label.value, uri: value.value } : { type: type.value, text: label.value, payload: value.value };
    });
  }
  const addReply = h('button.small', { type: 'button' }, 'Add quick reply');
  const addButton = h('button.small', { type: 'button' }, 'Add button');
  addReply.addEventListener('click', () => add('reply'));
  addButton.addEventListener('click', () => add('postback'));
  return { rows, buttons: [addReply, addButton], read, clear: () => rows.replaceChildren() };
}

function businessComposer(base, after) {
  const text = h('textarea', { name: 'text', rows: 2, required: true, maxlength: 4096 });
  const name = h('input', { name: 'authorName', value: sessionStorage.getItem('sunlamp.console.author') || 'Console', maxlength: 128 });
  const acts = actionEditor();
  const out = h('div');
  const send = h('button.primary', { type: 'submit' }, 'Send as business');
  const form = h('form.composer', field('Message as the business', text, 'Ctrl+Enter sends. Text takes the service\u2019s markdown.'), acts.rows,
    h('div.composer-row', acts.buttons, h('span.spacer'), field('Business author name', name), send), out);
  text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    const content = { type: 'text', text: text.value };
    const actions = acts.read();
    if (actions.length) content.actions = actions;
    const author = { type: 'business' };
    if (name.value.trim()) author.displayName = name.value.trim();
    sessionStorage.setItem('sunlamp.console.author', name.value.trim());
    busy(send, async () => {
      try {
        await api.post(`${base}/messages`, { author, content });
        text.value = '';
        acts.clear();
        announce('Message sent');
        text.focus();
        after();
      } catch (err) {
        showError(out, err, 'Sending the message');
      }
    });
  });
  return section('Answer as the business', form);
}

// switchboardPanel draws the switchboard state and its actions; sisAnswer is
// ListSwitchboardIntegrations' answer (or its Error). It returns the function that redraws it.
function switchboardPanel(slot, ctx, base, sb, conv, sisAnswer) {
  if (sisAnswer instanceof Error) {
    slot.replaceChildren(section('Switchboard', errorBox(sisAnswer, 'Reading the switchboard integrations')));
    return () => {};
  }
  const sis = sisAnswer.switchboardIntegrations || [];
  const out = h('div');
  const stateSlot = h('div');
  const target = h('select', { name: 'switchboardIntegration' }, sis.map((si) => h('option', { value: si.name }, `${si.name} (${si.integrationType})`)));
  const pass = h('button', { type: 'button' }, 'Pass control');
  const offer = h('button', { type: 'button' }, 'Offer control');
  const accept = h('button', { type: 'button' }, 'Accept control');
  const release = h('button', { type: 'button' }, 'Release control');
  const act = (button, op, body) => busy(button, async () => {
    out.replaceChildren();
    try {
      await api.post(`${base}/${op}`, body);
      announce(`${button.textContent}: done`);
      await refresh();
    } catch (err) {
      showError(out, err, button.textContent);
    }
  });
  pass.addEventListener('click', () => act(pass, 'passControl', { switchboardIntegration: target.value }));
  offer.addEventListener('click', () => act(offer, 'offerControl', { switchboardIntegration: target.value }));
  accept.addEventListener('click', () => act(accept, 'acceptControl', {}));
  release.addEventListener('click', () => act(release, 'releaseControl', {}));
  async function refresh(c) {
    if (!c) {
      try {
        c = (await api.get(base)).conversation;
      } catch (err) {
        showError(out, err, 'Reading the switchboard state');
        return;
      }
    }
    const a = c.activeSwitchboardIntegration;
    const p = c.pendingSwitchboardIntegration;
    stateSlot.replaceChildren(dl([['Switchboard', sb.enabled ? 'enabled' : 'disabled'], ['In control', a ? h('strong', a.name) : 'nobody (released)'], ['Offered to', p ? p.name : 'nobody']]));
    accept.disabled = !p;
    release.disabled = !a;
  }
  slot.replaceChildren(section('Switchboard', stateSlot, sis.length ? field('Switchboard integration', target) : empty('No switchboard integrations.'),
    h('div.actions', pass, offer, accept, release), out));
  if (!sis.length) pass.disabled = offer.disabled = true;
  refresh(conv);
  return () => refresh();
}

// conversionEventsPanel lists the conversion events recorded on the conversation (PostConversionEvents),
// newest first: when, the channel and dataset, and each event's name, time and custom data.
function conversionEventsPanel(ctx, convId) {
  const path = `/_sunlamp/v1/apps/${api.enc(ctx.appId)}/conversations/${api.enc(convId)}/conversionEvents`;
  const slot = h('div', loading());
  const more = h('button.small', { type: 'button' }, 'Older conversion events');
  const refresh = h('button.small', { type: 'button', 'aria-label': 'Refresh the conversion events' }, 'Refresh');
  let older = null;
  // The list is kept oldest first: page[before] an id above every id reads the newest page.
  async function load(before) {
    const res = await api.get(path, { query: { 'page[before]': before || 'f'.repeat(24), 'page[size]': 10 } });
    const list = [...res.conversionEvents].reverse();
    older = res.meta && res.meta.hasMore && list.length ? list[list.length - 1].id : null;
    return list;
  }
  function draw(list, append) {
    if (!append) slot.replaceChildren();
    if (!append && !list.length) {
      slot.append(empty('No conversion events.', 'A conversion (a purchase, a sign-up) is reported with POST /v2/apps/{appId}/conversations/{conversationId}/conversionEvents, in Meta\u2019s Conversions API format, for a conversation with a Messenger, Instagram or WhatsApp client.'));
    } else {
      let ul = slot.querySelector('ul.conversions');
      if (!ul) slot.append(ul = h('ul.rows.conversions'));
      ul.append(...list.map(conversionEvent));
    }
    more.hidden = !older;
  }
  async function reload() {
    try {
      draw(await load());
    } catch (err) {
      showError(slot, err, 'Listing the conversion events');
    }
  }
  more.addEventListener('click', () => busy(more, async () => {
    try {
      draw(await load(older), true);
    } catch (err) {
      showError(slot, err, 'Listing the conversion events');
    }
  }));
  refresh.addEventListener('click', () => busy(refresh, reload));
  more.hidden = true;
  reload();
  const panel = section('Conversion events', slot, h('div.actions', more, refresh));
  panel.classList.add('conversion-events');
  return panel;
}

// conversionEvent draws one recorded PostConversionEvents call.
function conversionEvent(ev) {
  const data = (ev.payload && Array.isArray(ev.payload.data)) ? ev.payload.data : [];
  return h('li.conversion', { dataset: { id: ev.id } },
    h('div.conversion-head', time(ev.createdAt, true), ' ', h('span.badge', ev.channel),
      h('span.muted', ` ${ev.eventsReceived} event${ev.eventsReceived === 1 ? '' : 's'}`)),
    h('ul.conversion-data', data.slice(0, 5).map((d) => h('li', h('strong', d.event_name || '(no event_name)'),
      d.event_time ? [' ', h('span.muted', eventTime(d.event_time))] : null,
      summary(d) ? h('span.conversion-summary', ` \u00b7 ${summary(d)}`) : null))),
    data.length > 5 ? h('p.hint', `and ${data.length - 5} more`) : null,
    h('details', h('summary', 'Payload'), dl([['Dataset', h('code', ev.datasetId)], ['Integration', ev.integrationId ? h('code', ev.integrationId) : null]]), json(ev.payload)));
}

// eventTime shows a Conversions API event_time (Unix seconds).
function eventTime(t) {
  const d = new Date(Number(t) * 1000);
  return Number.isFinite(d.getTime()) ? d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : String(t);
}

// summary is an event's custom data in a few words: its value and currency first, then the rest.
function summary(d) {
  const c = d.custom_data || {};
  const parts = [];
  if (c.value !== undefined) parts.push(`${c.value}${c.currency ? ` ${c.currency}` : ''}`);
  for (const [k, v] of Object.entries(c)) {
    if (k === 'value' || k === 'currency') continue;
    parts.push(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  }
  if (d.action_source) parts.push(d.action_source);
  const s = parts.join(', ');
  return s.length > 120 ? `${s.slice(0, 117)}\u2026` : s;
}
