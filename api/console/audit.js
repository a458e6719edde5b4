// Audit: the app's audit trail (GET /_sunlamp/v1/apps/{appId}/audit), newest first, paged, with
// the API's filters (operation, user id, since, until). Every erasure, deletion, export and
// retention sweep is there with its time, key, outcome and counts; never personal data.

import { h, field, section } from './ui.js';
import { OPERATIONS, auditBrowser, isId } from './dsr.js';

// local turns an RFC 3339 time into a datetime-local input's value (the browser's time zone).
function local(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const iso = (v) => (v ? new Date(v).toISOString() : '');

export async function render(main, ctx) {
  const life = new AbortController();
  const c = { ...ctx, life: life.signal };
  const q = ctx.query;
  const op = h('select', { name: 'operation' }, h('option', { value: '' }, 'All operations'),
    Object.entries(OPERATIONS).map(([v, t]) => h('option', { value: v, selected: q.operation === v }, t)));
  const user = h('input', { name: 'userId', spellcheck: 'false', value: q.userId || '', placeholder: '24 hexadecimal characters', pattern: '[0-9a-f]{24}' });
  const since = h('input', { name: 'since', type: 'datetime-local', value: local(q.since) });
  const until = h('input', { name: 'until', type: 'datetime-local', value: local(q.until) });
  const apply = h('button.primary', { type: 'submit' }, 'Filter');
  const clear = h('button', { type: 'button' }, 'Clear filters');
  const form = h('form.filters.audit-filters', { role: 'search', 'aria-label': 'Audit filters' },
    field('Operation', op), field('User id', user), field('Since', since), field('Until', until), h('div.filter-buttons', apply, clear));
  let filter = { operation: q.operation, userId: q.userId, since: q.since, until: q.until };
  const browser = auditBrowser(c, () => filter, { withUser: true, size: 25, emptyText: [
    'No audit entries match.',
    'Entries are recorded when a user\u2019s personal information is erased, a user is deleted (requested and completed), a user is exported, and when retention removes messages. Users shows a user\u2019s own history.'] });
  function keep() {
    history.replaceState(null, '', ctx.appHash(ctx.appId, 'audit', null, filter));
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const u = user.value.trim();
    user.setCustomValidity(u && !isId(u) ? 'A user id: the trail holds internal ids, never externalIds' : '');
    if (!form.reportValidity()) return;
    filter = { operation: op.value, userId: u, since: iso(since.value), until: iso(until.value) };
    keep();
    browser.reload();
  });
  clear.addEventListener('click', () => {
    op.value = '';
    user.value = since.value = until.value = '';
    filter = {};
    keep();
    browser.reload();
  });
  main.append(h('h1', 'Audit'),
    h('p.hint', 'What was done to users\u2019 data, by which key, with what outcome and counts. The trail holds ids and counts only, never names, emails or externalIds.'),
    form, section('Audit entries', browser.node));
  await browser.reload();
  return () => life.abort();
}
