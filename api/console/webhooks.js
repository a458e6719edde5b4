// Webhooks: the app's integrations (ListIntegrations, CreateIntegration, DeleteIntegration) and the
// webhooks of its custom integrations (CreateWebhook, UpdateWebhook to edit triggers, DeleteWebhook).
// The API lets only the app's own keys (not the account key) manage webhooks: the console uses an
// app key created in this tab, or the one signed in with.

import * as api from './api.js';
import { h, field, checkbox, section, empty, loading, showError, busy, confirm, announce, dl, copyButton } from './ui.js';

export const TRIGGERS = [
  'conversation:message', 'conversation:postback', 'conversation:create', 'conversation:join', 'conversation:leave', 'conversation:remove',
  'conversation:read', 'conversation:typing', 'conversation:referral', 'conversation:message:delivery:channel',
  'conversation:message:delivery:user', 'conversation:message:delivery:failure', 'client:add', 'client:remove', 'client:update',
  'passthrough:messaging', 'switchboard:acceptControl', 'switchboard:acceptControl:failure', 'switchboard:offerControl',
  'switchboard:offerControl:failure', 'switchboard:passControl', 'switchboard:passControl:failure', 'switchboard:releaseControl',
  'user:merge', 'user:update', 'user:remove',
];

function triggerBoxes(selected, prefix) {
  return h('fieldset', h('legend', 'Triggers'), h('div.checks', TRIGGERS.map((t) => checkbox(t, selected.includes(t), { name: `${prefix}-trigger`, value: t }))));
}

const chosen = (form, prefix) => [...form.querySelectorAll(`input[name="${prefix}-trigger"]:checked`)].map((i) => i.value);

export async function render(main, ctx) {
  const base = `/v2/apps/${api.enc(ctx.appId)}/integrations`;
  const listSlot = h('div', loading());
  const created = h('div');
  const keyNote = h('div');
  const key = () => api.appKey(ctx.appId);
  function noteKey() {
    keyNote.replaceChildren(...(key() ? [] : [h('div.empty', { role: 'note' },
      h('p.empty-title', 'Editing webhooks takes one of this app\u2019s keys.'),
      h('p', 'The API refuses account keys for the webhook operations, as the service does. Create a key in ',
        h('a', { href: ctx.appHash(ctx.appId) }, 'App & keys'), ' and keep it for this tab, or sign in with an app key. Creating an integration with its webhooks works with any key.'))]));
  }
  noteKey();

  // Create a custom integration with a webhook.
  const name = h('input', { name: 'displayName', required: true, maxlength: 100, placeholder: 'My bot' });
  const target = h('input', { name: 'target', type: 'url', required: true, placeholder: 'https://example.org/webhook', spellcheck: 'false' });
  const full = checkbox('Include full user', false, { name: 'includeFullUser' });
  const source = checkbox('Include full source', false, { name: 'includeFullSource' });
  const add = h('button.primary', { type: 'submit' }, 'Create integration');
  const form = h('form', h('div.grid2', field('Integration name', name), field('Webhook URL', target, 'Sunlamp POSTs each event of the triggers here, signed with the webhook\u2019s secret.')),
    triggerBoxes(['conversation:message', 'conversation:postback'], 'new'), h('div.actions', full, source), h('div.actions', add));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    created.replaceChildren();
    const triggers = chosen(form, 'new');
    busy(add, async () => {
      try {
        const { integration } = await api.post(base, { type: 'custom', displayName: name.value.trim(), webhooks: [{
          target: target.value.trim(), triggers, includeFullUser: full.querySelector('input').checked, includeFullSource: source.querySelector('input').checked }] });
        const wh = (integration.webhooks || [])[0];
        created.replaceChildren(h('div.secret', { role: 'status' }, h('p', h('strong', 'Integration created. '), 'Its webhook\u2019s secret (sent as X-API-Key, and the key of the webhook-signature header):'),
          wh ? dl([['Webhook id', h('code', wh.id)], ['Secret', h('span', h('code.secret-value', wh.secret), ' ', copyButton(wh.secret, 'Copy secret'))]]) : null));
        name.value = '';
        target.value = '';
        announce('Integration created');
        load();
      } catch (err) {
        showError(created, err, 'Creating the integration');
      }
    });
  });

  // Create a web messenger integration.
  const webName = h('input', { name: 'webName', required: true, maxlength: 100, placeholder: 'Website chat' });
  const webAdd = h('button', { type: 'submit' }, 'Create web messenger');
  const webOut = h('div');
  const webForm = h('form.inline', field('Web integration name', webName), webAdd, webOut);
  webForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(webAdd, async () => {
      try {
        await api.post(base, { type: 'web', displayName: webName.value.trim() });
        webName.value = '';
        announce('Web integration created');
        load();
      } catch (err) {
        showError(webOut, err, 'Creating the web integration');
      }
    });
  });

  main.append(h('h1', 'Webhooks'), keyNote,
    section('Integrations', listSlot),
    section('Create a custom integration with a webhook', form, created),
    section('Create a web messenger', h('p.hint', 'A web integration gets a customer chat page at /web/{integrationId}.'), webForm));

  async function load() {
    try {
      const res = await api.get(base);
      if (!res.integrations.length) {
        listSlot.replaceChildren(empty('No integrations yet.', 'Create a custom integration above to receive webhooks, or a web messenger below.'));
        return;
      }
      listSlot.replaceChildren(...res.integrations.map((i) => integration(i)));
    } catch (err) {
      showError(listSlot, err, 'Listing the integrations');
    }
  }

  function integration(i) {
    const out = h('div');
    const remove = h('button.small.danger', { type: 'button', 'aria-label': `Delete integration ${i.displayName || i.id}` }, 'Delete');
    remove.addEventListener('click', async () => {
      const ok = await confirm({ title: `Delete integration \u201c${i.displayName || i.type}\u201d?`, danger: true, confirm: 'Delete integration',
        body: [h('p', 'Integration ', h('code', i.id), ' and its webhooks and keys are deleted.')] });
      if (!ok) return;
      try {
        await api.del(`${base}/${api.enc(i.id)}`);
        announce('Integration deleted');
        load();
      } catch (err) {
        showError(out, err, 'Deleting the integration');
      }
    });
    const parts = [h('div.conv-head', h('h3', i.displayName || i.type, ' ', h('span.badge', i.type)), remove), dl([['Id', h('code', i.id)]])];
    if (i.type === 'web') parts.push(h('p', h('a', { href: `/web/${encodeURIComponent(i.id)}`, target: '_blank', rel: 'noopener' }, 'Open the web messenger \u2197')));
    if (i.type === 'custom') {
      const hooks = i.webhooks || [];
      parts.push(hooks.length ? h('ul.rows', hooks.map((w) => h('li', webhook(i, w)))) : empty('No webhooks.', 'Add one below.'));
      parts.push(addWebhook(i), integrationKeys(i));
    }
    parts.push(out);
    return h('article.panel', { 'aria-label': `Integration ${i.displayName || i.id}` }, parts);
  }

  function webhook(i, w) {
    const out = h('div');
    const path = `${base}/${api.enc(i.id)}/webhooks/${api.enc(w.id)}`;
    const edit = h('form', triggerBoxes(w.triggers || [], `w-${w.id}`),
      h('div.actions', checkbox('Include full user', !!w.includeFullUser, { name: 'includeFullUser' }), checkbox('Include full source', !!w.includeFullSource, { name: 'includeFullSource' })),
      h('div.actions', h('button.primary', { type: 'submit' }, 'Save triggers')));
    edit.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const b = edit.querySelector('button[type=submit]');
      busy(b, async () => {
        try {
          await api.patch(path, { triggers: chosen(edit, `w-${w.id}`), includeFullUser: edit.elements.includeFullUser.checked, includeFullSource: edit.elements.includeFullSource.checked }, { as: key() || undefined });
          announce('Webhook saved');
          load();
        } catch (err) {
          showError(out, err, 'Saving the webhook');
        }
      });
    });
    const remove = h('button.small.danger', { type: 'button', 'aria-label': `Delete webhook ${w.target}` }, 'Delete webhook');
    remove.addEventListener('click', async () => {
      const ok = await confirm({ title: 'Delete this webhook?', danger: true, confirm: 'Delete webhook', body: [h('p', 'Events stop going to ', h('code', w.target), '.')] });
      if (!ok) return;
      try {
        await api.del(path, { as: key() || undefined });
        load();
      } catch (err) {
        showError(out, err, 'Deleting the webhook');
      }
    });
    return h('div', dl([['Webhook', h('code', w.id)], ['Target', h('code', w.target)], ['Triggers', h('span', (w.triggers || []).map((t) => [h('span.badge', t), ' ']))],
      ['Full user', w.includeFullUser ? 'yes' : 'no'], ['Full source', w.includeFullSource ? 'yes' : 'no']]),
    h('div.actions', h('details', h('summary', `Edit triggers of ${w.target}`), edit), remove), out);
  }

  // integrationKeys manages the custom integration's own API keys: a new one's secret shows once;
  // rotating is creating a new key, moving the bot to it, and revoking the old one.
  function integrationKeys(i) {
    const path = `${base}/${api.enc(i.id)}/keys`;
    const slot = h('div');
    const out = h('div');
    const name = h('input', { name: 'keyName', required: true, maxlength: 100, placeholder: 'bot' });
    const b = h('button', { type: 'submit' }, 'Create integration key');
    const form = h('form.inline', field(`Key name for ${i.displayName || i.id}`, name), b);
    async function load() {
      try {
        const res = await api.get(path);
        slot.replaceChildren(res.keys.length ? h('ul.rows', res.keys.map((k) => {
          const rm = h('button.small.danger', { type: 'button', 'aria-label': `Revoke integration key ${k.displayName || k.id}` }, 'Revoke');
          rm.addEventListener('click', async () => {
            const ok = await confirm({ title: `Revoke key \u201c${k.displayName || k.id}\u201d?`, danger: true, confirm: 'Revoke key',
              body: [h('p', 'Key ', h('code', k.id), ' of the integration stops working at once.')] });
            if (!ok) return;
            try {
              await api.del(`${path}/${api.enc(k.id)}`);
              load();
            } catch (err) {
              showError(out, err, 'Revoking the key');
            }
          });
          return h('li', h('div.conv-head', h('span', k.displayName || '', ' ', h('code', k.id)), rm));
        })) : h('p.muted', 'No keys: the integration\u2019s code calls the API with the app\u2019s keys, or create one here.'));
      } catch (err) {
        showError(slot, err, 'Listing the integration\u2019s keys');
      }
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(b, async () => {
        try {
          const { key: k } = await api.post(path, { displayName: name.value.trim() });
          name.value = '';
          out.replaceChildren(h('div.secret', { role: 'status' }, h('p', h('strong', 'Key created. '), 'Copy its secret now: it is not shown again.'),
            dl([['Key id', h('code', k.id)], ['Secret', h('span', h('code.secret-value', k.secret), ' ', copyButton(k.secret, 'Copy secret'))]])));
          load();
        } catch (err) {
          showError(out, err, 'Creating the key');
        }
      });
    });
    const d = h('details', h('summary', 'Integration keys'), slot, form, out);
    d.addEventListener('toggle', () => { if (d.open) load(); }, { once: true });
    return d;
  }

  function addWebhook(i) {
    const t = h('input', { name: 'target', type: 'url', required: true, spellcheck: 'false', placeholder: 'https://…' });
    const out = h('div');
    const b = h('button', { type: 'submit' }, 'Add webhook');
    const f = h('form', field(`New webhook URL for ${i.displayName || i.id}`, t), triggerBoxes(['conversation:message'], `add-${i.id}`), h('div.actions', b), out);
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(b, async () => {
        try {
          const { webhook: w } = await api.post(`${base}/${api.enc(i.id)}/webhooks`, { target: t.value.trim(), triggers: chosen(f, `add-${i.id}`) }, { as: key() || undefined });
          created.replaceChildren(h('div.secret', { role: 'status' }, h('p', h('strong', 'Webhook added. '), 'Its secret:'), h('code.secret-value', w.secret), ' ', copyButton(w.secret, 'Copy secret')));
          load();
        } catch (err) {
          showError(out, err, 'Adding the webhook');
        }
      });
    });
    return h('details', h('summary', 'Add a webhook'), f);
  }

  await load();
}
