// Data-subject requests in the console: the audit trail (GET /_sunlamp/v1/apps/{appId}/audit),
// deletion handles (GET .../deletions/{userId}), the export's download
// (GET .../users/{user}/export, as JSON or zip) and the receipts built from them. The audit trail
// holds ids and counts only, never a name or an email, so it is shown as the API answers it.

import * as api from './api.js';
import { h, section, empty, errorBox, showError, busy, time, dl } from './ui.js';

// OPERATIONS names the audit trail's operations for people.
export const OPERATIONS = {
  deleteUserPersonalInformation: 'Erase personal information',
  deleteUser: 'Delete user (requested)',
  deleteUserCompleted: 'Delete user (history removed)',
  export: 'Export',
  retentionSweep: 'Retention sweep',
};

// LATEST is a cursor after every id: page[before]=LATEST reads the newest page of a list that is
// kept oldest first (ids are 24 time-ordered hexadecimal characters).
const LATEST = 'f'.repeat(24);

export const isId = (s) => /^[0-9a-f]{24}$/.test(s || '');

// words turns a count's name into words: clientsCleared → Clients cleared.
export function words(name) {
  if (name === 'mediaUrls') return 'Media URLs';
  const s = String(name).replace(/([A-Z])/g, ' $1').toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// countsList shows counts ({name: n}) as a definition list; none is "—".
export function countsList(counts) {
  const keys = Object.keys(counts || {});
  if (!keys.length) return h('span.muted', 'none');
  return h('ul.counts', keys.map((k) => h('li', { dataset: { count: k } }, `${words(k)}: `, h('strong', Number(counts[k]).toLocaleString()))));
}

const auditPath = (appId) => `/_sunlamp/v1/apps/${api.enc(appId)}/audit`;

// auditPage reads a page of the trail, newest first. filter: {userId, operation, since, until};
// at: {before} or {after} (an entry id) or nothing for the newest page.
export async function auditPage(appId, filter, at = {}, size = 10, signal) {
  const query = { 'page[size]': size };
  for (const k of ['userId', 'operation', 'since', 'until']) if (filter[k]) query[`filter[${k}]`] = filter[k];
  if (at.after) query['page[after]'] = at.after;
  else query['page[before]'] = at.before || LATEST;
  const res = await api.get(auditPath(appId), { query, signal });
  const entries = [...(res.auditEntries || [])].reverse();
  const more = !!(res.meta && res.meta.hasMore);
  // Going back (before), hasMore says older entries exist; going forward (after), newer ones.
  const older = entries.length && (at.after ? true : more) ? entries[entries.length - 1].id : null;
  const newer = entries.length && (at.after ? more : !!(at.before && at.before !== LATEST)) ? entries[0].id : null;
  return { entries, older, newer };
}

// latestAudit returns the newest entry of operation about userId (by keyId when given), or null.
export async function latestAudit(appId, userId, operation, keyId) {
  const { entries } = await auditPage(appId, { userId, operation }, {}, 10);
  return entries.find((e) => !keyId || e.keyId === keyId) || entries[0] || null;
}

// auditTable shows entries; withUser adds the user id column (with a link to the user).
export function auditTable(ctx, entries, withUser) {
  const cols = ['When', 'Operation', ...(withUser ? ['User id'] : []), 'Key id', 'Outcome', 'Counts'];
  return h('div.table-wrap', h('table.audit', h('caption.visually-hidden', 'Audit entries, newest first'),
    h('thead', h('tr', cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', entries.map((e) => h('tr', { dataset: { id: e.id, operation: e.operation } },
      h('td', time(e.at, true)),
      h('td', h('span', OPERATIONS[e.operation] || e.operation), h('br'), h('code.muted', e.operation)),
      withUser ? h('td', { dataset: { label: 'User id' } }, e.userId ? h('a', { href: ctx.appHash(ctx.appId, 'users', e.userId) }, h('code', e.userId)) : h('span.muted', '—')) : null,
      h('td', { dataset: { label: 'Key id' } }, h('code', e.keyId)),
      h('td', { dataset: { label: 'Outcome' } }, h(`span.badge.${e.outcome === 'ok' ? 'ok' : 'bad'}`, e.outcome)),
      h('td', countsList(e.counts)))))));
}

// auditBrowser is a paged view of the trail: {node, reload}. filter() returns the filter to
// read; emptyText is the empty state (title, next steps...).
export function auditBrowser(ctx, filter, opts = {}) {
  const slot = h('div');
  const pager = h('div.pager');
  const newer = h('button', { type: 'button' }, '\u2190 Newer entries');
  const older = h('button', { type: 'button' }, 'Older entries \u2192');
  let at = {};
  let page = null;
  async function load() {
    try {
      page = await auditPage(ctx.appId, filter(), at, opts.size || 10, ctx.life);
    } catch (err) {
      pager.replaceChildren();
      showError(slot, err, 'Reading the audit trail');
      return;
    }
    if (!page.entries.length) {
      slot.replaceChildren(empty(...(opts.emptyText || ['No audit entries.'])));
      pager.replaceChildren();
      return;
    }
    slot.replaceChildren(auditTable(ctx, page.entries, opts.withUser));
    newer.disabled = !page.newer;
    older.disabled = !page.older;
    // One page only: no pager to offer.
    pager.replaceChildren(...(page.newer || page.older ? [newer, older] : []));
  }
  newer.addEventListener('click', () => { at = { after: page.newer }; busy(newer, load); });
  older.addEventListener('click', () => { at = { before: page.older }; busy(older, load); });
  return { node: h('div.audit-browser', slot, pager), reload: () => { at = {}; return load(); } };
}

// auditSection is a user's "Audit" section: its entries, newest first, paged.
export function auditSection(ctx, userId) {
  if (ctx.who.key.type === 'integration') {
    return { node: section('Audit', h('p.hint', 'The audit trail is read with the account key or the app\u2019s key (an integration key cannot).')), reload: async () => {} };
  }
  const b = auditBrowser(ctx, () => ({ userId }), { emptyText: ['No audit entries about this user yet.',
    'Erasing, deleting or exporting the user records an entry here: the time, the operation, the key and the counts, never personal data.'] });
  const refresh = h('button.small', { type: 'button', 'aria-label': 'Refresh the audit entries' }, 'Refresh');
  refresh.addEventListener('click', () => busy(refresh, b.reload));
  const node = section('Audit', h('p.hint', 'Every erasure, deletion and export of this user, newest first. Entries hold ids and counts only. ', refresh), b.node);
  node.classList.add('audit-section');
  return { node, reload: b.reload };
}

// deletionPath is the address of the deletion handle of the user that had the id userId.
export const deletionPath = (appId, userId) => `/_sunlamp/v1/apps/${api.enc(appId)}/deletions/${api.enc(userId)}`;

// deletionList shows a deletion handle.
export function deletionList(d) {
  return dl([
    ['Status', h(`span.badge.${d.status === 'complete' ? 'ok' : 'warn'}`, { dataset: { status: d.status } }, d.status)],
    ['Requested', time(d.requestedAt, true)],
    ['Completed', d.completedAt ? time(d.completedAt, true) : h('span.muted', 'not yet: the history is being removed')],
    ['Messages removed', Number(d.messagesRemoved || 0).toLocaleString()],
    ['Conversations removed', Number(d.conversationsRemoved || 0).toLocaleString()],
    ['Files removed', Number(d.filesRemoved || 0).toLocaleString()],
  ]);
}

// followDeletion reads the deletion handle every second, calling onChange(deletion) each time,
// until it is complete or signal aborts (the view was left). It returns the last handle read.
export async function followDeletion(appId, userId, signal, onChange, onError) {
  for (;;) {
    let d;
    try {
      d = (await api.get(deletionPath(appId, userId), { signal })).deletion;
    } catch (err) {
      if (err.name === 'AbortError' || (signal && signal.aborted)) return null;
      if (onError) onError(err);
      d = null;
    }
    if (d) onChange(d);
    if (d && d.status === 'complete') return d;
    if (signal && signal.aborted) return d;
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 1000);
      if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
    if (signal && signal.aborted) return d;
  }
}

// save hands a blob to the browser as a download named name.
export function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true }, name);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// documentInZip reads the entry named name from a zip (the export's document), or throws. It
// reads the central directory (the export writes sizes after each entry, not before it), and
// inflates the entry with the browser's DecompressionStream.
export async function documentInZip(blob, name) {
  const buf = new DataView(await blob.arrayBuffer());
  let end = -1;
  for (let i = buf.byteLength - 22; i >= Math.max(0, buf.byteLength - 22 - 65535); i--) {
    if (buf.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip file');
  const count = buf.getUint16(end + 10, true);
  let p = buf.getUint32(end + 16, true);
  const dec = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (buf.getUint32(p, true) !== 0x02014b50) throw new Error('a damaged zip directory');
    const method = buf.getUint16(p + 10, true);
    const size = buf.getUint32(p + 20, true);
    const nameLen = buf.getUint16(p + 28, true);
    const extraLen = buf.getUint16(p + 30, true);
    const commentLen = buf.getUint16(p + 32, true);
    const local = buf.getUint32(p + 42, true);
    const entry = dec.decode(new Uint8Array(buf.buffer, p + 46, nameLen));
    if (entry === name) {
      const start = local + 30 + buf.getUint16(local + 26, true) + buf.getUint16(local + 28, true);
      const data = new Blob([new Uint8Array(buf.buffer, start, size)]);
      if (method === 0) return JSON.parse(await data.text());
      if (method !== 8) throw new Error(`zip method ${method}`);
      return JSON.parse(await new Response(data.stream().pipeThrough(new DecompressionStream('deflate-raw'))).text());
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${name} is not in the zip`);
}

// exportCounts counts the records of an export document.
export function exportCounts(doc) {
  const convs = doc.conversations || [];
  const files = (doc.media || []).filter((m) => m.file).length;
  return {
    conversations: convs.length,
    messages: convs.reduce((n, c) => n + ((c.messages || []).length), 0),
    clients: (doc.clients || []).length,
    devices: (doc.devices || []).length,
    mediaUrls: (doc.media || []).length,
    filesIncluded: files,
    pendingEvents: (doc.pendingEvents || []).length,
    auditEntries: (doc.audit || []).length,
  };
}

// exportUser downloads the export of the user (format json or zip) and returns what it held:
// {name, size, doc, counts}. The key goes in the Authorization header (api.request), never in an
// address: the download is a Blob the page hands to the browser.
export async function exportUser(appId, userId, format) {
  const res = await api.request('GET', `/_sunlamp/v1/apps/${api.enc(appId)}/users/${api.enc(userId)}/export`,
    { raw: true, query: format === 'zip' ? { format: 'zip' } : null, headers: { Accept: format === 'zip' ? 'application/zip' : 'application/json' } });
  const blob = await res.blob();
  const name = `export-${userId}.${format === 'zip' ? 'zip' : 'json'}`;
  save(blob, name);
  let doc = null;
  let problem = null;
  try {
    doc = format === 'zip' ? await documentInZip(blob, `${userId}.json`) : JSON.parse(await blob.text());
  } catch (err) {
    problem = err.message || String(err);
  }
  return { name, size: blob.size, doc, counts: doc ? exportCounts(doc) : null, problem };
}

// receiptBox shows what a data-subject operation did. r: {title, userId, externalId, at, keyId,
// keyType, outcome, counts, cleared, kept, file, deletion, auditId, note, source}.
export function receiptBox(r) {
  const box = h('div.receipt', { role: 'status', dataset: { kind: r.kind || '' } },
    h('h3', r.title),
    dl([['User', h('span', h('code', r.userId), r.externalId ? [' (externalId ', h('code', r.externalId), ')'] : null)],
      ['When', time(r.at, true)],
      ['By key', r.keyId ? h('span', h('code', r.keyId), r.keyType ? ` (${r.keyType} key)` : '') : null],
      ['Outcome', r.outcome ? h(`span.badge.${r.outcome === 'ok' ? 'ok' : 'bad'}`, r.outcome) : null],
      ['File', r.file ? h('span', h('code', r.file), r.size !== undefined ? ` (${Number(r.size).toLocaleString()} bytes)` : '') : null],
      [r.countsTitle || 'Counts', r.counts ? countsList(r.counts) : null],
      ['Cleared', r.cleared && r.cleared.length ? h('ul', r.cleared.map((c) => h('li', c))) : null],
      ['Kept', r.kept],
      ['Audit entry', r.auditId ? h('code', r.auditId) : null]]),
    r.deletion ? h('div.deletion', h('h4', 'Deletion handle'), deletionList(r.deletion)) : null,
    r.note ? h('p.hint', r.note) : null);
  return box;
}

// deletedUser fills slot with what remains of a deleted user (or an id no user has): its
// deletion handle and its audit history. It returns false when neither exists.
export async function deletedUser(ctx, userId, slot) {
  const canAudit = ctx.who.key.type !== 'integration';
  const [d, a] = await Promise.all([
    api.get(deletionPath(ctx.appId, userId)).then((r) => r.deletion, (e) => (e.status === 404 ? null : e)),
    canAudit ? auditPage(ctx.appId, { userId }, {}, 1).catch((e) => e) : { entries: [] },
  ]);
  if (!d && !(a instanceof Error) && !a.entries.length) return false;
  const parts = [h('p', 'No user has the id ', h('code', userId), ' now.')];
  if (d instanceof Error) parts.push(errorBox(d, 'Reading the deletion handle'));
  else if (d) parts.push(h('div.deletion', h('h3', 'Deleted: the deletion handle'), deletionList(d)));
  const audit = auditSection(ctx, userId);
  slot.replaceChildren(section(`Deleted user ${userId}`, ...parts), audit.node);
  await audit.reload();
  return true;
}
