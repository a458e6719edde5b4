// The customer's side: act as a user. The web messenger page of a web integration (as a new
// visitor), or a composer that goes through the inbound simulator (POST
// /_sunlamp/v1/apps/{appId}/inbound) on one of the user's channel clients or a new one: what a
// channel delivers when the customer writes, taps a quick reply or a postback.

import * as api from './api.js';
import { h, field, section, empty, errorBox, showError, busy, announce, userName } from './ui.js';

const appPath = (ctx) => `/v2/apps/${api.enc(ctx.appId)}`;

let actionsProbe = null;
// takesActions reports whether the server's simulator takes a customer's postbacks and activities
// (postback, activity in the inbound body). The probe has no effect either way: it names a user
// that does not exist and carries a postback without a payload, which a simulator that takes
// actions refuses (400) before it looks the user up, and one that does not answers 404.
export function takesActions(ctx) {
  if (!actionsProbe) {
    actionsProbe = api.post(`/_sunlamp/v1/apps/${api.enc(ctx.appId)}/inbound`,
      { channel: 'whatsapp', user: { id: '000000000000000000000000' }, client: { externalId: 'console-probe' }, postback: {} })
      .then(() => false, (e) => e.status === 400);
  }
  return actionsProbe;
}

// customerSide lets the console act as the conversation's user: the web messenger page for a web
// integration, or the inbound simulator for any channel.
// customerSide is the panel. opts: conv (the conversation shown, or null on a user's page), user
// (the user to act as, or null), integrations (ListIntegrations' answer or an Error), handlers
// (filled with the quick reply action the messages offer), after(inboundAnswer).
export async function customerSide(ctx, opts) {
  const { conv, user, integrations, handlers = {}, after } = opts;
  const body = h('div');
  const panel = section(conv ? 'Customer side' : 'Write in as this user', body);
  const webs = integrations instanceof Error || !integrations ? [] : (integrations.integrations || []).filter((i) => i.type === 'web');
  if (webs.length) {
    body.append(h('p', 'Open the web messenger as a new visitor: ', ...webs.map((w, i) => [i ? ', ' : '',
      h('a', { href: `/web/${encodeURIComponent(w.id)}`, target: '_blank', rel: 'noopener' }, `${w.displayName || 'Web messenger'} \u2197`)])));
  }
  if (!user) {
    body.append(empty('No user to act as.', 'The conversation has no participant.'));
    return panel;
  }
  // opts.clients: ListClients' answer when the caller has it already (or its Error).
  let answer = opts.clients;
  if (!answer) answer = await api.get(`${appPath(ctx)}/users/${api.enc(user.id)}/clients`).catch((e) => e);
  let clients = [];
  if (answer instanceof Error) body.append(errorBox(answer, 'Listing the user\u2019s clients'));
  else clients = answer.clients;
  const channels = clients.filter((c) => c.type !== 'sdk' && c.externalId);
  const sdk = clients.find((c) => c.type === 'sdk');
  const options = channels.map((c) => ({ label: `${c.type} ${c.externalId}`, body: { channel: c.type, integrationId: c.integrationId, client: { externalId: c.externalId } } }));
  if (sdk) options.push({ label: `sdk client (${sdk.integrationId || 'sdk'})`, body: { channel: 'sdk', integrationId: sdk.integrationId } });
  const pick = h('select', { name: 'client' }, options.map((o, i) => h('option', { value: i }, o.label)), h('option', { value: 'new' }, 'A new channel client\u2026'));
  const channel = h('input', { name: 'channel', value: 'whatsapp', spellcheck: 'false' });
  const channelId = h('input', { name: 'channelId', value: `console-${user.externalId || user.id}`, spellcheck: 'false' });
  const newClient = h('div.grid2', field('Channel', channel, 'A client type: whatsapp, messenger, telegram, \u2026'), field('Customer id on the channel', channelId));
  const showNew = () => { newClient.hidden = pick.value !== 'new'; };
  pick.addEventListener('change', showNew);
  const text = h('textarea', { name: 'customerText', rows: 2, required: true, maxlength: 4096 });
  const out = h('div');
  const send = h('button.primary', { type: 'submit' }, 'Send as customer');
  const who = userName(user) || user.id;
  const where = !conv || conv.isDefault ? 'Sent through the inbound simulator, as the channel would deliver it, to the user\u2019s default conversation.'
    : 'Sent through the inbound simulator, which writes to the user\u2019s default conversation (not this one).';
  const form = h('form.composer', field('Client', pick), newClient, field(`Message as ${who}`, text, where), out, h('div.actions', send));
  showNew();
  const inbound = (extra) => {
    const o = pick.value === 'new' ? { channel: channel.value.trim(), client: { externalId: channelId.value.trim() } } : options[Number(pick.value)].body;
    return api.post(`/_sunlamp/v1/apps/${api.enc(ctx.appId)}/inbound`, { ...o, user: { id: user.id }, ...extra });
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    busy(send, async () => {
      try {
        const res = await inbound({ content: { type: 'text', text: text.value } });
        text.value = '';
        announce(`Sent as ${who}`);
        if (after) after(res, out);
      } catch (err) {
        showError(out, err, 'Writing as the customer');
      }
    });
  });
  // A quick reply tapped as the customer: its text with its payload, as a channel delivers it.
  handlers.reply = (m, a, b) => busy(b, async () => {
    try {
      const res = await inbound({ content: { type: 'text', text: a.text, payload: a.payload } });
      if (after) after(res, out);
    } catch (err) {
      showError(out, err, 'Sending the quick reply');
    }
  });
  body.append(form);

  // Postbacks (buttons in the business's messages) and activities, where the simulator takes them.
  if (await takesActions(ctx)) {
    handlers.postback = (m, a, b) => busy(b, async () => {
      try {
        await inbound({ postback: { payload: a.payload, messageId: m.id } });
        out.replaceChildren(h('p.ok', { role: 'status' }, `Postback \u201c${a.text}\u201d sent as ${who} (conversation:postback).`));
        if (after) after({}, out);
      } catch (err) {
        showError(out, err, 'Sending the postback');
      }
    });
    const activity = (label, type) => {
      const b = h('button.small', { type: 'button' }, label);
      b.addEventListener('click', () => busy(b, async () => {
        try {
          await inbound({ activity: { type } });
          out.replaceChildren(h('p.ok', { role: 'status' }, `${label}: sent as ${who} (${type}).`));
        } catch (err) {
          showError(out, err, label);
        }
      }));
      return b;
    };
    body.append(h('div.actions', activity('Start typing', 'typing:start'), activity('Stop typing', 'typing:stop'), activity('Mark as read', 'conversation:read')),
      h('p.hint', 'Postback buttons in the business\u2019s messages are pressed as the customer.'));
  } else {
    body.append(h('p.hint', 'This server\u2019s simulator takes no postbacks or activities (typing, read) yet: the buttons of the business\u2019s messages are shown, not pressed.'));
  }
  return panel;
}
