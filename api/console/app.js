// The console: sign-in, navigation and the router. Addresses are #/apps/{appId}/{view}/{id}: they
// name what is shown, never a credential.

import * as api from './api.js';
import { h, field, errorBox, announce } from './ui.js';

const views = {
  apps: () => import('./apps.js'),
  app: () => import('./apps.js'),
  users: () => import('./users.js'),
  conversations: () => import('./conversations.js'),
  webhooks: () => import('./webhooks.js'),
  deliveries: () => import('./deliveries.js'),
  audit: () => import('./audit.js'),
  emulator: () => import('./emulator.js'),
};

let cleanup = null;
let seq = 0;
const appNames = new Map();

// route parses the address: {view, appId, id, query}.
export function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(qs || ''));
  if (parts[0] === 'emulator') return { view: 'emulator', query };
  if (parts[0] !== 'apps') return { view: 'apps', query };
  if (!parts[1]) return { view: 'apps', query };
  const appId = parts[1];
  const view = parts[2] || 'app';
  return { view: views[view] ? view : 'app', appId, id: parts[3], query };
}

// go changes the address (and so the view).
export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// appHash is the address of an app's view.
export const appHash = (appId, view, id, query) => {
  let s = `#/apps/${encodeURIComponent(appId)}`;
  if (view) s += `/${view}`;
  if (id) s += `/${encodeURIComponent(id)}`;
  if (query) {
    const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v)).toString();
    if (q) s += `?${q}`;
  }
  return s;
};

export function rememberAppName(id, name) {
  appNames.set(id, name);
}

function signInView(main) {
  const id = h('input', { name: 'keyId', autocomplete: 'username', required: true, spellcheck: 'false', placeholder: 'act_… or app_…' });
  const secret = h('input', { name: 'secret', type: 'password', autocomplete: 'current-password', required: true });
  const out = h('div');
  const button = h('button.primary', { type: 'submit' }, 'Sign in');
  const form = h('form.signin', { 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', tabindex: '-1' }, 'Sign in to the console'),
    h('p', 'Sign in with an API key of this server: the account key that ', h('code', 'sunlamp serve'),
      ' printed at its first start (it reaches every app), or an app key (one app).'),
    field('Key id', id),
    field('Secret', secret, 'Kept in this tab only (sessionStorage) and sent in request headers: never in an address, a cookie or a log.'),
    out,
    h('div.actions', button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    out.replaceChildren();
    try {
      const who = await api.get('/_sunlamp/v1/whoami', { as: { id: id.value.trim(), secret: secret.value } });
      sessionStorage.setItem('sunlamp.console.session', JSON.stringify({ id: id.value.trim(), secret: secret.value, who }));
      secret.value = '';
      announce('Signed in');
      const k = who.key;
      go(k.type === 'account' ? '#/apps' : appHash(k.appId, 'conversations'));
      render();
    } catch (err) {
      out.replaceChildren(errorBox(err, 'Sign-in'));
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(h('div.center', form));
  id.focus();
}

function renderSession(s) {
  const slot = document.getElementById('session');
  if (!s) {
    slot.replaceChildren();
    return;
  }
  const k = s.who.key;
  const out = h('button.small', { type: 'button' }, 'Sign out');
  out.addEventListener('click', () => {
    api.signOut();
    announce('Signed out');
    location.hash = '#/';
    render();
  });
  slot.replaceChildren(h('span.key', { title: `${k.type} key ${k.id}` }, h('span.badge', k.type), ' ', h('code', k.id)),
    s.who.emulator ? h('span.badge.emu', { title: 'serve --emulator: reset, clock and faults are on' }, 'emulator') : null, out);
}

function renderNav(r, s) {
  const nav = document.getElementById('nav');
  const k = s.who.key;
  const link = (hash, text, current) => h('a', { href: hash, 'aria-current': current ? 'page' : null }, text);
  const items = [];
  if (k.type === 'account') items.push(link('#/apps', 'All apps', r.view === 'apps'));
  const appId = r.appId || (k.type !== 'account' ? k.appId : null);
  if (appId) {
    items.push(h('p.nav-app', { title: appId }, appNames.get(appId) || 'App', h('code', appId)));
    if (k.type !== 'integration') items.push(link(appHash(appId), 'App & keys', r.view === 'app'));
    items.push(link(appHash(appId, 'users'), 'Users', r.view === 'users'));
    items.push(link(appHash(appId, 'conversations'), 'Conversations', r.view === 'conversations'));
    if (k.type !== 'integration') {
      items.push(link(appHash(appId, 'webhooks'), 'Webhooks', r.view === 'webhooks'));
      items.push(link(appHash(appId, 'deliveries'), 'Deliveries', r.view === 'deliveries'));
      items.push(link(appHash(appId, 'audit'), 'Audit', r.view === 'audit'));
    }
    if (s.who.emulator && k.type === 'account') items.push(link(appHash(appId, 'emulator'), 'Emulator', r.view === 'emulator'));
  } else if (s.who.emulator && k.type === 'account') {
    items.push(link('#/emulator', 'Emulator', r.view === 'emulator'));
  }
  nav.replaceChildren(h('ul', items.map((i) => h('li', i))));
  // At phone width the navigation is a row that scrolls: keep the current view in sight.
  const current = nav.querySelector('[aria-current="page"]');
  if (current && nav.scrollWidth > nav.clientWidth) {
    const r = current.getBoundingClientRect();
    nav.scrollLeft += r.left - nav.getBoundingClientRect().left - (nav.clientWidth - r.width) / 2;
  }
}

// render shows the view of the address.
export async function render(focusTitle) {
  const main = document.getElementById('main');
  if (cleanup) {
    try {
      cleanup();
    } catch {
      // a view's cleanup failing must not stop the next view
    }
    cleanup = null;
  }
  const s = api.session();
  renderSession(s);
  if (!s) {
    document.getElementById('nav').replaceChildren();
    document.body.dataset.view = 'signin';
    signInView(main);
    document.body.dataset.ready = 'true';
    return;
  }
  const r = route();
  const k = s.who.key;
  if (k.type !== 'account' && r.appId !== k.appId) {
    // an app or integration key reaches one app
    location.replace(appHash(k.appId, 'conversations'));
    return;
  }
  renderNav(r, s);
  document.body.dataset.view = r.view;
  document.body.dataset.ready = 'false';
  const my = ++seq;
  const mod = await views[r.view]();
  if (my !== seq) return;
  main.replaceChildren();
  const ctx = { ...r, who: s.who, go, appHash, rememberAppName, refreshNav: () => renderNav(route(), s) };
  try {
    cleanup = (await mod.render(main, ctx)) || null;
  } catch (err) {
    main.replaceChildren(errorBox(err, 'Loading the view'));
  }
  if (my !== seq) return;
  document.body.dataset.ready = 'true';
  const title = main.querySelector('h1');
  document.title = title ? `${title.textContent} · Sunlamp console` : 'Sunlamp console';
  if (title && (focusTitle || document.activeElement === document.body)) {
    title.tabIndex = -1;
    title.focus({ preventScroll: true });
  }
}

window.addEventListener('hashchange', () => render(true));
render();
