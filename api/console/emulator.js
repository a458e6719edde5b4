// Emulator: the controls of `sunlamp serve --emulator` (account key only): the virtual clock
// (GET/POST /_sunlamp/v1/clock), an app's faults (/_sunlamp/v1/apps/{appId}/faults), resets
// (/_sunlamp/v1/apps/{appId}/reset, /_sunlamp/v1/reset) and snapshots (download and load, where
// the server has them).

import * as api from './api.js';
import { h, field, section, empty, loading, showError, busy, confirm, announce, time, dl } from './ui.js';

const OPERATIONS = ['PostMessage', 'ListMessages', 'GetConversation', 'ListConversations', 'CreateConversation', 'GetUser', 'CreateUser',
  'UpdateUser', 'DeleteUser', 'DeleteUserPersonalInformation', 'PostActivity', 'CreateClient', 'ListClients', 'UploadAttachment', 'PassControl'];

export async function render(main, ctx) {
  main.append(h('h1', 'Emulator'));
  if (!ctx.who.emulator) {
    main.append(empty('This server runs without the emulator controls.', 'Start it with `sunlamp serve --emulator` (or SUNLAMP_EMULATOR=true) to move its clock, inject faults, reset apps and load snapshots.'));
    return null;
  }
  main.append(await clock());
  if (ctx.appId) {
    main.append(await faults(ctx), await snapshots(ctx), resets(ctx));
  } else {
    main.append(section('Apps', empty('Faults, snapshots and an app\u2019s reset are per app.', 'Open an app from All apps, then Emulator.')), resets(ctx));
  }
  return null;
}

async function clock() {
  const now = h('div', loading());
  const out = h('div');
  async function read() {
    try {
      const { clock: c } = await api.get('/_sunlamp/v1/clock');
      now.replaceChildren(dl([['Now', time(c.now, true)], ['Ahead of the system clock', `${(c.offsetMs / 60000).toFixed(1)} minutes`]]));
      return c;
    } catch (err) {
      showError(now, err, 'Reading the clock');
      return null;
    }
  }
  const advance = h('input', { name: 'advance', required: true, value: '15m', spellcheck: 'false' });
  const go = h('button.primary', { type: 'submit' }, 'Advance clock');
  const form = h('form.inline', field('Advance by', advance, 'A duration: 90s, 15m, 36h. Retries and leases that come due run at once.'), go);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(go, async () => {
      try {
        await api.post('/_sunlamp/v1/clock', { advance: advance.value.trim() });
        announce('Clock moved');
        out.replaceChildren();
        await read();
      } catch (err) {
        showError(out, err, 'Moving the clock');
      }
    });
  });
  const set = h('input', { name: 'set', spellcheck: 'false', placeholder: '2027-01-01T00:00:00Z', required: true });
  const setGo = h('button', { type: 'submit' }, 'Set clock');
  const setForm = h('form.inline', field('Set to', set, 'An RFC 3339 time, never earlier than now.'), setGo);
  setForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(setGo, async () => {
      try {
        await api.post('/_sunlamp/v1/clock', { set: set.value.trim() });
        out.replaceChildren();
        await read();
      } catch (err) {
        showError(out, err, 'Setting the clock');
      }
    });
  });
  await read();
  return section('Clock', now, form, setForm, out);
}

async function faults(ctx) {
  const path = `/_sunlamp/v1/apps/${api.enc(ctx.appId)}/faults`;
  const slot = h('div', loading());
  const out = h('div');
  async function load() {
    try {
      const res = await api.get(path);
      const list = res.faults || [];
      if (!list.length) {
        slot.replaceChildren(empty('No faults.', 'Add one below: the app\u2019s requests to that operation are answered with the error instead.'));
        return;
      }
      slot.replaceChildren(h('div.table-wrap', h('table', h('caption.visually-hidden', 'Faults of the app'),
        h('thead', h('tr', ['Operation', 'Status', 'Count', 'Delay', 'Probability', 'Fired', ''].map((t) => h('th', { scope: 'col' }, t || h('span.visually-hidden', 'Actions'))))),
        h('tbody', list.map((f) => {
          const rm = h('button.small.danger', { type: 'button', 'aria-label': `Remove fault ${f.operationId} ${f.status || ''}` }, 'Remove');
          rm.addEventListener('click', () => busy(rm, async () => {
            try {
              await api.del(`${path}/${api.enc(f.id)}`);
              load();
            } catch (err) {
              showError(out, err, 'Removing the fault');
            }
          }));
          return h('tr', h('td', h('code', f.operationId)), h('td', f.status || ''), h('td', f.count || 'always'), h('td', f.delayMs ? `${f.delayMs} ms` : ''),
            h('td', String(f.probability)), h('td', String(f.fired)), h('td', rm));
        })))));
    } catch (err) {
      showError(slot, err, 'Listing the faults');
    }
  }
  const op = h('input', { name: 'operationId', required: true, list: 'operations', value: 'PostMessage', spellcheck: 'false' });
  const status = h('select', { name: 'status' }, [429, 423, 500, 502, 503].map((s) => h('option', { value: s }, String(s))));
  const count = h('input', { name: 'count', type: 'number', min: 1, value: 1 });
  const delay = h('input', { name: 'delayMs', type: 'number', min: 0, value: '' });
  const add = h('button.primary', { type: 'submit' }, 'Add fault');
  const form = h('form', h('datalist', { id: 'operations' }, OPERATIONS.map((o) => h('option', { value: o }))),
    h('div.grid2', field('Operation', op, 'An operationId of the spec: PostMessage, GetUser, …'), field('Status', status)),
    h('div.grid2', field('Times', count, 'How many requests it answers; empty: every one.'), field('Delay (ms)', delay)), h('div.actions', add), out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = { operationId: op.value.trim(), status: Number(status.value) };
    if (count.value) body.count = Number(count.value);
    if (delay.value) body.delayMs = Number(delay.value);
    if (body.status === 429) body.retryAfter = 1;
    busy(add, async () => {
      try {
        await api.post(path, body);
        out.replaceChildren();
        announce('Fault added');
        load();
      } catch (err) {
        showError(out, err, 'Adding the fault');
      }
    });
  });
  await load();
  return section('Faults', slot, form);
}

async function snapshots(ctx) {
  const get = `/_sunlamp/v1/apps/${api.enc(ctx.appId)}/snapshot`;
  const [canGet, canLoad] = await Promise.all([api.has('GET', get), api.has('POST', '/_sunlamp/v1/snapshots')]);
  if (!canGet && !canLoad) {
    return section('Snapshots', empty('This server has no snapshots yet.', 'Snapshot download (GET /_sunlamp/v1/apps/{appId}/snapshot) and loading (POST /_sunlamp/v1/snapshots) appear here when the server has them.'));
  }
  const out = h('div');
  const parts = [];
  if (canGet) {
    const dl_ = h('button', { type: 'button' }, 'Download snapshot');
    dl_.addEventListener('click', () => busy(dl_, async () => {
      try {
        const res = await api.request('GET', get, { raw: true });
        const blob = await res.blob();
        const a = h('a', { href: URL.createObjectURL(blob), download: `snapshot-${ctx.appId}.json` });
        document.body.append(a);
        a.click();
        a.remove();
        out.replaceChildren(h('p.ok', { role: 'status' }, `Downloaded ${blob.size.toLocaleString()} bytes. It holds the app\u2019s keys and personal data: keep it safe.`));
      } catch (err) {
        showError(out, err, 'Downloading the snapshot');
      }
    }));
    parts.push(h('div.actions', dl_));
  }
  if (canLoad) {
    const file = h('input', { type: 'file', name: 'snapshot', accept: 'application/json,.json', required: true });
    const load = h('button', { type: 'submit' }, 'Load snapshot');
    const form = h('form.inline', field('Snapshot file', file, 'Loaded into a new app, keeping every id.'), load);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(load, async () => {
        try {
          const res = await api.post('/_sunlamp/v1/snapshots', file.files[0]);
          const id = (res.app && res.app.id) || res.appId;
          out.replaceChildren(h('p.ok', { role: 'status' }, 'Loaded. ', id ? h('a', { href: ctx.appHash(id) }, 'Open the app') : null));
        } catch (err) {
          showError(out, err, 'Loading the snapshot');
        }
      });
    });
    parts.push(form);
  }
  return section('Snapshots', ...parts, out);
}

function resets(ctx) {
  const out = h('div');
  const parts = [];
  if (ctx.appId) {
    const b = h('button.danger', { type: 'button' }, 'Reset app');
    b.addEventListener('click', async () => {
      const ok = await confirm({ title: 'Reset this app?', danger: true, confirm: 'Reset app',
        body: [h('p', 'Removes the users, conversations, messages, attachments, events and deliveries of app ', h('code', ctx.appId), '. Its settings, keys, integrations, webhooks and switchboard stay.')] });
      if (!ok) return;
      busy(b, async () => {
        try {
          await api.post(`/_sunlamp/v1/apps/${api.enc(ctx.appId)}/reset`, {});
          out.replaceChildren(h('p.ok', { role: 'status' }, 'The app was reset.'));
          announce('App reset');
        } catch (err) {
          showError(out, err, 'Resetting the app');
        }
      });
    });
    parts.push(b);
  }
  const all = h('button.danger', { type: 'button' }, 'Reset everything');
  all.addEventListener('click', async () => {
    const ok = await confirm({ title: 'Reset the whole server?', danger: true, confirm: 'Reset everything',
      body: [h('p', 'Removes every app and every key but the account keys. This cannot be undone.')] });
    if (!ok) return;
    busy(all, async () => {
      try {
        await api.post('/_sunlamp/v1/reset', {});
        out.replaceChildren(h('p.ok', { role: 'status' }, 'Everything was reset. ', h('a', { href: '#/apps' }, 'Back to the apps')));
      } catch (err) {
        showError(out, err, 'Resetting');
      }
    });
  });
  parts.push(all);
  return section('Reset', h('div.actions', parts), out);
}
