// Users: find one by id, externalId (GetUser) or identity email (ListUsers); see its profile,
// metadata, identities, clients, devices, conversations and audit history; erase its personal
// information, delete it, export it, each confirmed by name and followed by a receipt built from
// what the server recorded: the erasure's audit entry (its counts), the deletion handle (followed
// until complete), the export's document (its counts). A deleted user's id still finds its
// deletion handle and audit history.

import * as api from './api.js';
import { customerSide } from './customer.js';
import { h, field, section, empty, loading, showError, errorBox, busy, confirm, announce, time, dl, json, userName, copyButton } from './ui.js';
import { isId, latestAudit, auditSection, deletedUser, deletionPath, followDeletion, exportUser, receiptBox } from './dsr.js';

const RECEIPTS = 'sunlamp.console.receipts';

function receipts(appId) {
  try {
    return (JSON.parse(sessionStorage.getItem(RECEIPTS) || '{}')[appId]) || [];
  } catch {
    return [];
  }
}

function keepReceipt(appId, r) {
  let all = {};
  try {
    all = JSON.parse(sessionStorage.getItem(RECEIPTS) || '{}');
  } catch {
    // start over
  }
  // A receipt that changes (a deletion followed to completion) replaces its earlier state.
  all[appId] = [r, ...(all[appId] || []).filter((x) => !r.id || x.id !== r.id)].slice(0, 20);
  sessionStorage.setItem(RECEIPTS, JSON.stringify(all));
}

export async function render(main, ctx) {
  // life ends when the view is left: it stops following a deletion and pending reads.
  const life = new AbortController();
  const c = { ...ctx, life: life.signal };
  await (ctx.id ? detail(main, c) : search(main, c));
  return () => life.abort();
}

const usersPath = (ctx) => `/v2/apps/${api.enc(ctx.appId)}/users`;

async function search(main, ctx) {
  const q = h('input', { name: 'q', type: 'search', required: true, spellcheck: 'false', value: ctx.query.q || '', placeholder: 'id, externalId or name@example.org' });
  const find = h('button.primary', { type: 'submit' }, 'Find user');
  const results = h('div');
  const form = h('form.inline', { role: 'search' }, field('User id, externalId or email', q), find);
  async function run(value) {
    results.replaceChildren(loading('Searching…'));
    const found = new Map();
    const errors = [];
    const tries = [];
    if (value.includes('@')) {
      tries.push(api.get(usersPath(ctx), { query: { 'filter[identities.email]': value } })
        .then((r) => r.users.forEach((u) => found.set(u.id, u)), (e) => errors.push(e)));
    }
    tries.push(api.get(`${usersPath(ctx)}/${api.enc(value)}`)
      .then((r) => found.set(r.user.id, r.user), (e) => { if (e.status !== 404) errors.push(e); }));
    await Promise.all(tries);
    results.replaceChildren();
    for (const e of errors) results.append(errorBox(e, 'Finding the user'));
    if (!found.size && isId(value) && await deletedUser(ctx, value, results)) {
      announce('A deleted user: its deletion handle and audit history');
      return;
    }
    if (!found.size) {
      if (!errors.length) {
        results.append(empty(`No user has the id, externalId or identity email \u201c${value}\u201d.`,
          'Ids and externalIds match exactly; emails match a user\u2019s identities (type email), as ListUsers does. A deleted user is found by its id only (its deletion handle and audit history hold no externalId or email). Users appear when a customer writes in (the customer side of a conversation, the web messenger) or when you create one below.'));
      }
      return;
    }
    results.append(h('ul.rows', [...found.values()].map((u) => h('li', h('a.row', { href: ctx.appHash(ctx.appId, 'users', u.id) },
      h('strong', userName(u) || '(no name)'), u.externalId ? h('span', 'externalId ', h('code', u.externalId)) : null, h('code.muted', u.id))))));
    announce(`${found.size} user${found.size > 1 ? 's' : ''} found`);
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = q.value.trim();
    history.replaceState(null, '', ctx.appHash(ctx.appId, 'users', null, { q: value }));
    busy(find, () => run(value));
  });
  main.append(h('h1', 'Users'), section('Find a user', form, results), createUser(ctx), receiptList(ctx));
  if (ctx.query.q) await run(ctx.query.q);
}

function createUser(ctx) {
  const ext = h('input', { name: 'externalId', spellcheck: 'false' });
  const given = h('input', { name: 'givenName' });
  const surname = h('input', { name: 'surname' });
  const email = h('input', { name: 'email', type: 'email' });
  const out = h('div');
  const b = h('button', { type: 'submit' }, 'Create user');
  const form = h('form', h('div.grid2', field('externalId', ext, 'Your system\u2019s id for the person (optional).'), field('Email', email)),
    h('div.grid2', field('Given name', given), field('Surname', surname)), out, h('div.actions', b));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const profile = {};
    if (given.value.trim()) profile.givenName = given.value.trim();
    if (surname.value.trim()) profile.surname = surname.value.trim();
    if (email.value.trim()) profile.email = email.value.trim();
    const body = { profile };
    if (ext.value.trim()) body.externalId = ext.value.trim();
    busy(b, async () => {
      try {
        const { user } = await api.post(usersPath(ctx), body);
        announce('User created');
        ctx.go(ctx.appHash(ctx.appId, 'users', user.id));
      } catch (err) {
        showError(out, err, 'Creating the user');
      }
    });
  });
  return h('details.panel', h('summary', h('strong', 'Create a user')), form);
}

function receiptList(ctx) {
  const list = receipts(ctx.appId);
  if (!list.length) return null;
  return section('Receipts of this tab', h('ul.rows', list.map((r) => h('li', receiptBox(r)))));
}

async function detail(main, ctx, shown) {
  const head = h('h1', 'User');
  const top = h('div');
  main.append(h('p', h('a', { href: ctx.appHash(ctx.appId, 'users') }, '\u2190 Users')), head, top);
  const base = `${usersPath(ctx)}/${api.enc(ctx.id)}`;
  let user;
  try {
    ({ user } = await api.get(base, { signal: ctx.life }));
  } catch (err) {
    if (err.status === 404 && isId(ctx.id)) {
      // A deleted user: what remains is its deletion handle and audit history (ids and counts).
      const slot = h('div');
      top.append(slot);
      try {
        if (await deletedUser(ctx, ctx.id, slot)) {
          head.textContent = 'Deleted user';
          return;
        }
      } catch (e) {
        if (e.name === 'AbortError') return;
      }
      slot.remove();
    }
    top.append(errorBox(err, 'Loading the user'));
    if (err.status === 404) top.append(empty('No such user.', 'It may have been deleted. Find users by id, externalId or email in Users.'));
    return;
  }
  head.textContent = userName(user) || 'User';
  const receiptSlot = h('div.receipt-slot');
  const actionsOut = h('div');
  const who = ctx.who.key;
  const [clients, devices, convs] = await Promise.all([
    api.get(`${base}/clients`).catch((e) => e),
    api.get(`${base}/devices`).catch((e) => e),
    api.get(`/v2/apps/${api.enc(ctx.appId)}/conversations`, { query: { 'filter[userId]': user.id } }).catch((e) => e),
  ]);
  // The export and the audit trail take the account key or the app's own key.
  const canExport = who.type !== 'integration';
  const audit = auditSection(ctx, user.id);

  const p = user.profile || {};
  top.append(dl([['User id', h('span', h('code', user.id), ' ', copyButton(user.id, 'Copy id'))], ['externalId', user.externalId ? h('code', user.externalId) : null],
    ['Signed up', time(user.signedUpAt)]]));

  // Actions
  const named = `${userName(user) || user.id}${user.externalId && userName(user) !== user.externalId ? ` (externalId ${user.externalId})` : ''}`;
  const erase = h('button.danger', { type: 'button' }, 'Erase personal information');
  const remove = h('button.danger', { type: 'button' }, 'Delete user');
  const exp = h('button', { type: 'button', disabled: !canExport }, 'Export');
  const show = (r) => {
    receiptSlot.replaceChildren(receiptBox(r));
    receiptSlot.scrollIntoView({ block: 'nearest' });
  };
  erase.addEventListener('click', async () => {
    const ok = await confirm({ title: `Erase the personal information of ${named}?`, danger: true, confirm: 'Erase personal information',
      body: [h('p', 'Clears the profile (given name, surname, email, avatar, locale), metadata and identities of user ', h('code', user.id),
        ', and every client\u2019s and device\u2019s channel data. The user, its conversations and messages are kept. This cannot be undone.')] });
    if (!ok) return;
    busy(erase, async () => {
      actionsOut.replaceChildren();
      const before = { user, clients: clients.clients || [], devices: devices.devices || [] };
      try {
        await api.del(`${base}/personalinformation`);
      } catch (err) {
        showError(actionsOut, err, 'Erasing the personal information');
        return;
      }
      const r = { id: `erase-${user.id}-${Date.now()}`, kind: 'erase', title: 'Personal information erased', userId: user.id, externalId: user.externalId,
        cleared: clearedOf(before), kept: 'The user\u2019s id, externalId, conversations and messages.' };
      await fromAudit(ctx, r, 'deleteUserPersonalInformation');
      keepReceipt(ctx.appId, r);
      announce('Personal information erased');
      await reload(r);
    });
  });
  remove.addEventListener('click', async () => {
    const ok = await confirm({ title: `Delete user ${named}?`, danger: true, confirm: 'Delete user',
      body: [h('p', 'User ', h('code', user.id), ' is deleted at once with its personal data, clients and devices; its conversation history is removed in the background (user:remove is sent when that is complete). This cannot be undone.')] });
    if (!ok) return;
    busy(remove, async () => {
      actionsOut.replaceChildren();
      try {
        await api.del(base);
      } catch (err) {
        showError(actionsOut, err, 'Deleting the user');
        return;
      }
      const r = { id: `delete-${user.id}`, kind: 'delete', title: 'User deleted', userId: user.id, externalId: user.externalId, at: new Date().toISOString(), keyId: who.id, keyType: who.type,
        cleared: ['The user, its profile, metadata, identities, clients and devices', 'Its conversation history (in the background: see the deletion handle)'] };
      await fromAudit(ctx, r, 'deleteUser');
      keepReceipt(ctx.appId, r);
      announce('User deleted');
      const slot = h('div.receipt-slot', receiptBox(r));
      const err = h('div');
      const after = h('div');
      main.replaceChildren(h('p', h('a', { href: ctx.appHash(ctx.appId, 'users') }, '\u2190 Users')), h('h1', { tabindex: '-1' }, 'User deleted'),
        h('p', 'The deletion handle is read every second until the history is removed (', h('code', `GET ${deletionPath(ctx.appId, user.id)}`), ').'), slot, err, after);
      main.querySelector('h1').focus();
      const done = await followDeletion(ctx.appId, user.id, ctx.life, (d) => {
        r.deletion = d;
        if (d.status === 'complete') r.title = 'User deleted: history removed';
        slot.replaceChildren(receiptBox(r));
      }, (e) => showError(err, e, 'Reading the deletion handle'));
      if (!done || done.status !== 'complete') return;
      err.replaceChildren();
      keepReceipt(ctx.appId, r);
      announce('Deletion complete');
      const trail = auditSection(ctx, user.id);
      after.replaceChildren(trail.node);
      await trail.reload();
    });
  });
  exp.addEventListener('click', async () => {
    const asJSON = h('input', { type: 'radio', name: 'exportFormat', value: 'json', checked: true });
    const zip = h('input', { type: 'radio', name: 'exportFormat', value: 'zip' });
    const ok = await confirm({ title: `Export everything held about ${named}?`, confirm: 'Download export',
      body: [h('p', 'One document with the user\u2019s profile, identities, clients, devices, conversations and messages, the media they name, the webhook events pending about them and their audit entries. It holds personal data: keep it safe. The export is recorded in the audit trail.'),
        h('fieldset', h('legend', 'Format'),
          h('label.radio', asJSON, h('span', 'JSON document', h('br'), h('code.muted', `export-${user.id}.json`))),
          h('label.radio', zip, h('span', 'Zip with the attachment files', h('br'), h('code.muted', `export-${user.id}.zip`))))] });
    if (!ok) return;
    const format = zip.checked ? 'zip' : 'json';
    busy(exp, async () => {
      actionsOut.replaceChildren();
      let x;
      try {
        x = await exportUser(ctx.appId, user.id, format);
      } catch (err) {
        showError(actionsOut, err, 'Exporting the user');
        return;
      }
      const d = x.doc || {};
      const r = { id: `export-${user.id}-${Date.now()}`, kind: 'export', title: `User exported (${format === 'zip' ? 'zip' : 'JSON'})`, userId: (d.user && d.user.id) || user.id,
        externalId: user.externalId, at: d.exportedAt || new Date().toISOString(), keyId: who.id, keyType: who.type, file: x.name, size: x.size,
        counts: x.counts, countsTitle: 'In the document', note: x.problem ? `The document could not be read back (${x.problem}): it was downloaded as the server sent it.` : null };
      await fromAudit(ctx, r, 'export');
      keepReceipt(ctx.appId, r);
      show(r);
      announce(`Export downloaded as ${x.name}`);
      await audit.reload();
    });
  });
  main.append(section('Data-subject requests', h('div.actions', erase, remove, exp),
    canExport ? null : h('p.hint', 'Export takes the account key or the app\u2019s key; with an integration key, ', h('code', 'sunlamp dsr export'), ' builds the same document from v2 calls.'),
    actionsOut, receiptSlot));

  const profile = section('Profile', dl([['Given name', p.givenName], ['Surname', p.surname], ['Email', p.email], ['Avatar', p.avatarUrl ? (/^https?:\/\//i.test(p.avatarUrl) ? h('a', { href: p.avatarUrl, target: '_blank', rel: 'noopener noreferrer' }, p.avatarUrl) : p.avatarUrl) : null], ['Locale', p.locale]]),
    Object.keys(p).length ? null : empty('No profile fields are set.'),
    h('h3', 'Metadata'), user.metadata && Object.keys(user.metadata).length ? json(user.metadata) : h('p.muted', 'None.'),
    h('h3', 'Identities'), user.identities && user.identities.length
      ? h('ul', user.identities.map((i) => h('li', h('code', i.type), ' ', i.value, i.verification ? h('span.muted', ` (${i.verification})`) : null)))
      : h('p.muted', 'None.'));

  const integrations = await api.get(`/v2/apps/${api.enc(ctx.appId)}/integrations`).catch((e) => e);
  const writeIn = await customerSide(ctx, { conv: null, user, integrations, after: (res, out) => {
    if (!res.conversation) return;
    out.replaceChildren(h('p.ok', { role: 'status' }, 'Sent. ', h('a', { href: ctx.appHash(ctx.appId, 'conversations', res.conversation.id) }, 'Open the conversation')));
  } });
  main.append(h('div.grid2', profile, conversationsPanel(ctx, convs)), writeIn, clientsPanel(clients), devicesPanel(devices), audit.node);
  await audit.reload();
  if (shown) receiptSlot.replaceChildren(receiptBox(shown));

  async function reload(r) {
    main.replaceChildren();
    await detail(main, ctx, r);
    const slot = main.querySelector('.receipt-slot');
    if (slot) slot.scrollIntoView({ block: 'nearest' });
  }
}

// fromAudit completes receipt r with the newest audit entry of operation about its user by this
// key: its time, key, outcome, counts and id. Without one (an integration key cannot read the
// trail), the receipt keeps the console's own time and key, and says so.
async function fromAudit(ctx, r, operation) {
  const who = ctx.who.key;
  r.at = r.at || new Date().toISOString();
  r.keyId = r.keyId || who.id;
  r.keyType = r.keyType || who.type;
  if (who.type === 'integration') {
    r.note = 'The time and key are the console\u2019s: the audit trail is read with the account key or the app\u2019s key.';
    return;
  }
  try {
    const e = await latestAudit(ctx.appId, r.userId, operation, who.id);
    if (!e) return;
    r.auditId = e.id;
    r.outcome = e.outcome;
    r.keyId = e.keyId;
    if (operation !== 'export') r.at = e.at;
    if (!r.counts) {
      r.counts = e.counts;
      r.countsTitle = 'Audit counts';
    }
  } catch (err) {
    r.note = `The audit entry could not be read (${err.code || 'error'}: ${err.title || err.message}).`;
  }
}

// clearedOf lists what an erasure cleared: the fields that were set before it.
function clearedOf({ user, clients, devices }) {
  const out = [];
  const p = user.profile || {};
  const fields = ['givenName', 'surname', 'email', 'avatarUrl', 'locale'].filter((k) => p[k]);
  if (fields.length) out.push(`Profile: ${fields.join(', ')}`);
  const meta = Object.keys(user.metadata || {}).length;
  if (meta) out.push(`Metadata: ${meta} key${meta > 1 ? 's' : ''}`);
  const cs = clients.filter((c) => c.displayName || c.avatarUrl || c.info || c.raw);
  if (cs.length) out.push(`Channel data of ${cs.length} client${cs.length > 1 ? 's' : ''} (display name, avatar, info, raw)`);
  const ds = devices.filter((d) => d.info || d.pushNotificationToken || d.appVersion);
  if (ds.length) out.push(`${ds.length} device${ds.length > 1 ? 's' : ''}: info, push token, app version`);
  return out;
}

function conversationsPanel(ctx, convs) {
  if (convs instanceof Error) return section('Conversations', errorBox(convs, 'Listing the conversations'));
  if (!convs.conversations.length) return section('Conversations', empty('No conversations.', 'A conversation starts when the user writes in, or with POST /v2/apps/{appId}/conversations.'));
  return section('Conversations', h('ul.rows', convs.conversations.map((c) => h('li', h('a.row', { href: ctx.appHash(ctx.appId, 'conversations', c.id) },
    h('strong', c.displayName || (c.isDefault ? 'Default conversation' : c.type)), h('span.muted', c.type), h('span.row-side', time(c.lastUpdatedAt)))))),
  convs.meta && convs.meta.hasMore ? h('p.hint', 'More conversations: see Conversations, searching for the user\u2019s id.') : null);
}

function clientsPanel(res) {
  if (res instanceof Error) return section('Clients', errorBox(res, 'Listing the clients'));
  if (!res.clients.length) return section('Clients', empty('No clients.', 'A client is the user\u2019s presence on a channel: it appears when the user writes in on one, or with CreateClient.'));
  return section('Clients', h('div.table-wrap', h('table', h('caption.visually-hidden', 'Clients of the user'),
    h('thead', h('tr', ['Type', 'Status', 'externalId', 'Display name', 'Last seen', 'Channel data'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', res.clients.map((c) => h('tr', h('td', h('code', c.type)), h('td', c.status), h('td', c.externalId || ''), h('td', c.displayName || ''),
      h('td', time(c.lastSeen)), h('td', c.info || c.raw ? h('details', h('summary', 'info and raw'), json({ info: c.info, raw: c.raw })) : h('span.muted', 'none'))))))));
}

function devicesPanel(res) {
  if (res instanceof Error) return section('Devices', errorBox(res, 'Listing the devices'));
  if (!res.devices.length) return section('Devices', empty('No devices.', 'Devices belong to SDK clients (web, iOS, Android).'));
  return section('Devices', h('div.table-wrap', h('table', h('caption.visually-hidden', 'Devices of the user'),
    h('thead', h('tr', ['Type', 'Status', 'guid', 'Last seen', 'App version', 'Info'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', res.devices.map((d) => h('tr', h('td', d.type), h('td', d.status), h('td', h('code', d.guid)), h('td', time(d.lastSeen)), h('td', d.appVersion || ''),
      h('td', d.info ? h('details', h('summary', 'info'), json(d.info)) : h('span.muted', 'none'))))))));
}
