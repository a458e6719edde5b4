// Apps: the account's apps (ListApps, CreateApp), an app's settings (GetApp, UpdateApp, DeleteApp)
// and its keys (ListAppKeys, CreateAppKey: the secret shown once, DeleteAppKey).

import * as api from './api.js';
import { h, field, checkbox, section, empty, loading, showError, errorBox, busy, confirm, announce, copyButton, dl } from './ui.js';

export async function render(main, ctx) {
  return ctx.view === 'apps' ? list(main, ctx) : detail(main, ctx);
}

async function list(main, ctx) {
  const listSlot = h('div', loading());
  const name = h('input', { name: 'displayName', required: true, maxlength: 100, placeholder: 'My bot' });
  const out = h('div');
  const create = h('button.primary', { type: 'submit' }, 'Create app');
  const form = h('form.inline', field('Display name', name), create, out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(create, async () => {
      try {
        const { app } = await api.post('/v2/apps', { displayName: name.value.trim() });
        announce(`App ${app.displayName} created`);
        ctx.rememberAppName(app.id, app.displayName);
        ctx.go(ctx.appHash(app.id));
      } catch (err) {
        showError(out, err, 'Creating the app');
      }
    });
  });
  main.append(h('h1', 'Apps'), section('Create an app', form), section('All apps', listSlot));

  let after = null;
  const rows = h('ul.rows');
  const more = h('button', { type: 'button' }, 'More apps');
  async function page() {
    try {
      const res = await api.get('/v2/apps', { query: { 'page[size]': 50, 'page[after]': after } });
      for (const app of res.apps) {
        ctx.rememberAppName(app.id, app.displayName);
        rows.append(h('li', h('a.row', { href: ctx.appHash(app.id, 'conversations') },
          h('strong', app.displayName || '(no name)'), h('code.muted', app.id))));
      }
      after = res.meta && res.meta.hasMore ? res.meta.afterCursor : null;
      if (!rows.childElementCount) {
        listSlot.replaceChildren(empty('No apps yet.', 'Create one above: it gets its own users, conversations, integrations and keys.'));
        return;
      }
      listSlot.replaceChildren(rows);
      if (after) listSlot.append(more);
    } catch (err) {
      showError(listSlot, err, 'Listing the apps');
    }
  }
  more.addEventListener('click', () => busy(more, page));
  await page();
}

const settingsFields = [
  ['maskCreditCardNumbers', 'Mask credit card numbers', 'Card numbers users write are masked before they are stored (on unless set off).', true],
  ['useAnimalNames', 'Use animal names', 'Users a channel creates without a name get a colour and an animal.', false],
  ['echoPostback', 'Echo postbacks', 'A tapped postback button also adds a user message with its text.', false],
  ['ignoreAutoConversationStart', 'Ignore auto conversation start', 'Stored as the service does.', false],
  ['multiConvoEnabled', 'Several conversations per user', 'Irreversible once on.', false],
  ['appLocalizationEnabled', 'App localization', 'Stored as the service does.', false],
];

async function detail(main, ctx) {
  const head = h('h1', 'App');
  const top = h('div');
  main.append(head, top);
  let app;
  try {
    ({ app } = await api.get(`/v2/apps/${api.enc(ctx.appId)}`));
  } catch (err) {
    top.append(errorBox(err, 'Loading the app'));
    return;
  }
  ctx.rememberAppName(app.id, app.displayName);
  ctx.refreshNav();
  head.textContent = app.displayName || 'App';
  top.append(dl([['App id', h('span', h('code', app.id), ' ', copyButton(app.id, 'Copy id'))]]));
  if (ctx.who.key.type === 'account') {
    main.append(await keys(app, ctx));
  } else {
    main.append(section('Keys', empty('Keys are managed with an account key.', 'Sign in with the account key to create or revoke this app\u2019s keys.')));
  }
  main.append(settings(app, ctx));
  if (ctx.who.key.type === 'account') main.append(danger(app, ctx));
}

function settings(app, ctx) {
  const s = app.settings || {};
  const name = h('input', { name: 'displayName', value: app.displayName || '', maxlength: 100, required: true });
  const boxes = settingsFields.map(([k, label, hint, dflt]) => {
    const c = checkbox(label, s[k] === undefined ? dflt : !!s[k], { name: k });
    return h('div.field', c, h('p.hint', hint));
  });
  const retention = h('input', { name: 'conversationRetentionSeconds', type: 'number', min: 0, value: s.conversationRetentionSeconds ?? '' });
  const metadata = h('textarea', { name: 'metadata', rows: 4, spellcheck: 'false' });
  metadata.value = app.metadata && Object.keys(app.metadata).length ? JSON.stringify(app.metadata, null, 2) : '';
  const out = h('div');
  const save = h('button.primary', { type: 'submit' }, 'Save settings');
  const form = h('form', field('Display name', name), h('fieldset', h('legend', 'Settings'), h('div.checks', boxes)),
    field('Conversation retention (seconds)', retention, 'Empty: never. Messages of a conversation inactive that long are deleted.'),
    field('Metadata (JSON object)', metadata, 'Empty: none. Replaced as a whole.'), out, h('div.actions', save));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    let meta = null;
    if (metadata.value.trim()) {
      try {
        meta = JSON.parse(metadata.value);
      } catch (e) {
        out.replaceChildren(h('div.error', { role: 'alert' }, `Metadata is not JSON: ${e.message}`));
        return;
      }
    }
    const body = { displayName: name.value.trim(), metadata: meta, settings: {} };
    for (const [k] of settingsFields) body.settings[k] = form.elements[k].checked;
    if (retention.value !== '') body.settings.conversationRetentionSeconds = Number(retention.value);
    busy(save, async () => {
      try {
        const res = await api.patch(`/v2/apps/${api.enc(app.id)}`, body);
        ctx.rememberAppName(app.id, res.app.displayName);
        out.replaceChildren(h('p.ok', { role: 'status' }, 'Saved.'));
        ctx.refreshNav();
      } catch (err) {
        showError(out, err, 'Saving the settings');
      }
    });
  });
  return section('Settings', form);
}

async function keys(app, ctx) {
  const slot = h('div', loading());
  const created = h('div');
  const name = h('input', { name: 'keyName', required: true, maxlength: 100, placeholder: 'CI bot' });
  const add = h('button.primary', { type: 'submit' }, 'Create key');
  const form = h('form.inline', field('Key name', name), add);
  const base = `/v2/apps/${api.enc(app.id)}/keys`;
  async function load() {
    try {
      const res = await api.get(base);
      if (!res.keys.length) {
        slot.replaceChildren(empty('This app has no keys.', 'Create one for your bot or backend; its secret is shown once.'));
        return;
      }
      const kept = api.appKey(app.id);
      slot.replaceChildren(h('table',
        h('caption.visually-hidden', 'Keys of the app'),
        h('thead', h('tr', h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Key id'), h('th', { scope: 'col' }, h('span.visually-hidden', 'Actions')))),
        h('tbody', res.keys.map((k) => {
          const revoke = h('button.small.danger', { type: 'button', 'aria-label': `Revoke key ${k.displayName || k.id}` }, 'Revoke');
          revoke.addEventListener('click', async () => {
            const ok = await confirm({ title: `Revoke key \u201c${k.displayName || k.id}\u201d?`, danger: true, confirm: 'Revoke key',
              body: [h('p', 'Key ', h('code', k.id), ' stops working at once, for every client that uses it.')] });
            if (!ok) return;
            try {
              await api.del(`${base}/${api.enc(k.id)}`);
              if (kept && kept.id === k.id) api.keepAppKey(app.id, null);
              announce('Key revoked');
              load();
            } catch (err) {
              showError(created, err, 'Revoking the key');
            }
          });
          return h('tr', h('td', k.displayName || ''), h('td', h('code', k.id), kept && kept.id === k.id ? h('span.badge', { title: 'The console uses this key for the app\u2019s webhooks' }, 'in use here') : null),
            h('td', revoke));
        }))));
    } catch (err) {
      showError(slot, err, 'Listing the keys');
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      try {
        const { key } = await api.post(base, { displayName: name.value.trim() });
        name.value = '';
        api.keepAppKey(app.id, key);
        const keep = checkbox('Let this tab use the key for this app\u2019s webhooks (the API lets only app keys change them)', true);
        keep.querySelector('input').addEventListener('change', (e) => {
          api.keepAppKey(app.id, e.target.checked ? key : null);
          load();
        });
        created.replaceChildren(h('div.secret', { role: 'status' },
          h('p', h('strong', 'Key created. '), 'Copy its secret now: it is not shown again.'),
          dl([['Key id', h('span', h('code', key.id), ' ', copyButton(key.id, 'Copy id'))],
            ['Secret', h('span', h('code.secret-value', key.secret), ' ', copyButton(key.secret, 'Copy secret'))]]),
          keep,
          h('p.hint', 'Try it: ', h('code', `curl -u '${key.id}:…' ${location.origin}/v2/apps/${app.id}`))));
        announce('Key created: copy its secret now');
        load();
      } catch (err) {
        showError(created, err, 'Creating the key');
      }
    });
  });
  await load();
  return section('Keys', form, created, slot);
}

function danger(app, ctx) {
  const out = h('div');
  const b = h('button.danger', { type: 'button' }, 'Delete app');
  b.addEventListener('click', async () => {
    const ok = await confirm({ title: `Delete app \u201c${app.displayName}\u201d?`, danger: true, confirm: 'Delete app',
      body: [h('p', 'App ', h('code', app.id), ' and everything it holds (users, conversations, integrations, keys) are deleted. This cannot be undone.')] });
    if (!ok) return;
    try {
      await api.del(`/v2/apps/${api.enc(app.id)}`);
      api.keepAppKey(app.id, null);
      announce('App deleted');
      ctx.go('#/apps');
    } catch (err) {
      showError(out, err, 'Deleting the app');
    }
  });
  return section('Delete', h('p', 'Deleting an app removes all of its data.'), b, out);
}
