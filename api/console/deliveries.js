// Deliveries: the webhook flight recorder (GET /_sunlamp/v1/apps/{appId}/deliveries): every attempt
// with its request and response, status, latency and the next attempt; Redeliver sends an event
// again (POST /_sunlamp/v1/apps/{appId}/events/{eventId}/redeliver). Account key only. Where the
// server has no recorder the view says so.

import * as api from './api.js';
import { h, field, section, empty, loading, showError, busy, announce, time, dl, checkbox } from './ui.js';
import { TRIGGERS } from './webhooks.js';

const NEWEST = 'ffffffffffffffffffffffff'; // page[before] this: the newest page (ids sort below it)

function pretty(body) {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function headers(hs) {
  const keys = Object.keys(hs || {}).sort();
  return keys.length ? dl(keys.map((k) => [k, h('code', hs[k])])) : h('p.muted', 'none');
}

function statusOf(a) {
  const s = a.response ? a.response.status : 0;
  return h(`span.status-${String(s).charAt(0)}`, s ? String(s) : 'no answer');
}

export async function render(main, ctx) {
  main.append(h('h1', 'Deliveries'));
  const path = `/_sunlamp/v1/apps/${api.enc(ctx.appId)}/deliveries`;
  if (!(await api.has('GET', path))) {
    main.append(empty('This server has no webhook flight recorder.',
      'The recorder (GET /_sunlamp/v1/apps/{appId}/deliveries, with redelivery) is on servers that have it; meanwhile the webhook receiver\u2019s own logs show what arrived.'));
    return null;
  }
  const canRedeliver = await api.has('POST', `/_sunlamp/v1/apps/${api.enc(ctx.appId)}/events/x/redeliver`);
  const type = h('select', { name: 'eventType' }, h('option', { value: '' }, 'All events'), TRIGGERS.map((t) => h('option', { value: t }, t)));
  const status = h('select', { name: 'status' }, [['', 'Any outcome'], ['delivered', 'Delivered'], ['retry', 'Will retry'], ['failed', 'Failed']].map(([v, t]) => h('option', { value: v }, t)));
  const auto = checkbox('Refresh every 3 seconds', true, { name: 'auto' });
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const form = h('form.filters', field('Event type', type), field('Outcome', status), refresh, auto);
  const slot = h('div', loading());
  const pager = h('div.pager');
  const notice = h('div');
  main.append(form, notice, h('section.panel', { 'aria-label': 'Delivery attempts' }, slot, pager));
  let before = NEWEST;
  const open = new Set();

  async function load() {
    try {
      const res = await api.get(path, { query: { 'filter[eventType]': type.value, 'filter[status]': status.value, 'page[before]': before, 'page[size]': 25 } });
      const list = [...res.deliveries].reverse();
      if (!list.length) {
        slot.replaceChildren(empty(type.value || status.value ? 'No attempt matches.' : 'No deliveries recorded yet.',
          'Attempts appear here as Sunlamp sends events to the app\u2019s webhooks (kept 24 hours). Create a custom integration with a webhook in Webhooks, then write in as a customer.'));
      } else {
        slot.replaceChildren(h('ul.rows', list.map((a) => h('li', attempt(a)))));
      }
      const m = res.meta || {};
      const newer = h('button', { type: 'button', disabled: before === NEWEST }, '\u2190 Newest');
      const older = h('button', { type: 'button', disabled: !m.hasMore }, 'Older \u2192');
      newer.addEventListener('click', () => { before = NEWEST; load(); });
      older.addEventListener('click', () => { before = res.deliveries[0].id; load(); });
      pager.replaceChildren(newer, older);
    } catch (err) {
      showError(slot, err, 'Reading the deliveries');
      if (err.status === 403) slot.append(empty('The flight recorder takes the account key.', 'Sign in with the account key to see deliveries.'));
    }
  }

  function attempt(a) {
    const d = h('details.attempt', { open: open.has(a.id), dataset: { id: a.id } });
    d.addEventListener('toggle', () => (d.open ? open.add(a.id) : open.delete(a.id)));
    const outcome = a.outcome === 'retry' && a.nextAttemptAt ? h('span.badge.warn', 'retry ', time(a.nextAttemptAt, true))
      : h(`span.badge.${a.outcome === 'delivered' ? 'ok' : 'bad'}`, a.outcome);
    d.append(h('summary', h('strong', a.eventType), ' \u2192 ', h('code', a.target), ' · ', statusOf(a), ` · ${a.durationMs} ms · attempt ${a.attempt}${a.redelivery ? ' (redelivery)' : ''} · `, outcome, ' · ', time(a.createdAt, true)));
    const out = h('div');
    const parts = [dl([['Event', h('code', a.eventId)], ['Webhook', h('code', a.webhookId)], ['Error', a.error]])];
    const req = h('div', h('h3', 'Request'), headers(a.request && a.request.headers), h('pre.json', pretty(a.request ? a.request.body : '')));
    const res = a.response
      ? h('div', h('h3', `Response ${a.response.status}`), headers(a.response.headers),
        a.response.body ? h('pre.json', a.response.bodyEncoding === 'base64' ? `(base64) ${a.response.body}` : pretty(a.response.body)) : h('p.muted', 'Empty body.'))
      : h('div', h('h3', 'Response'), h('p.muted', a.error || 'No response.'));
    parts.push(h('div.grid2.exchange', req, res));
    if (canRedeliver) {
      const again = h('button.primary', { type: 'button', 'aria-label': `Redeliver ${a.eventType} event ${a.eventId}` }, 'Redeliver');
      again.addEventListener('click', () => busy(again, async () => {
        try {
          const res = await api.post(`/_sunlamp/v1/apps/${api.enc(ctx.appId)}/events/${api.enc(a.eventId)}/redeliver`, { webhookId: a.webhookId });
          const r = (res.deliveries || [])[0];
          notice.replaceChildren(h('p.ok.panel', { role: 'status' }, `Redelivered ${a.eventType} event `, h('code', a.eventId), ' to ', h('code', r ? r.target : a.target), ': ',
            r ? [statusOf(r), ` in ${r.durationMs} ms`] : 'sent', '. The new attempt is at the top of the list.'));
          announce('Redelivered');
          open.clear();
          await load();
        } catch (err) {
          showError(out, err, 'Redelivering');
        }
      }));
      parts.push(h('div.actions', again), out);
    }
    d.append(h('div.attempt-body', parts));
    return d;
  }

  refresh.addEventListener('click', () => busy(refresh, load));
  type.addEventListener('change', () => { before = NEWEST; load(); });
  status.addEventListener('change', () => { before = NEWEST; load(); });
  const timer = setInterval(() => {
    // Not while the user is reading or acting inside the list: a redraw would take their place.
    if (auto.querySelector('input').checked && before === NEWEST && !document.hidden && !slot.contains(document.activeElement) && !open.size) load();
  }, 3000);
  await load();
  return () => clearInterval(timer);
}
