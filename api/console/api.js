// The console's only way to Sunlamp: the same /v2 and /_sunlamp/v1 endpoints any client calls, with
// the key the user signed in with. The key id and secret live in this tab's sessionStorage and go
// in an Authorization header (HTTP Basic): never in a URL, a cookie or the page's address.

const SESSION = 'sunlamp.console.session';
const APP_KEYS = 'sunlamp.console.appKeys';

// ApiError is an answer in the API's error envelope (or a failure to get one).
export class ApiError extends Error {
  constructor(status, code, title, errors) {
    super(title);
    this.status = status;
    this.code = code;
    this.title = title;
    this.errors = errors || [{ code, title }];
  }
}

function basic(id, secret) {
  const bytes = new TextEncoder().encode(`${id}:${secret}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

function read(name) {
  try {
    return JSON.parse(sessionStorage.getItem(name) || 'null');
  } catch {
    return null;
  }
}

// session returns {id, secret, who} of the signed-in key, or null.
export function session() {
  return read(SESSION);
}

// signOut forgets everything the console kept in the tab: the keys, and the receipts and
// preferences of the session.
export function signOut() {
  for (const k of Object.keys(sessionStorage)) if (k.startsWith('sunlamp.console.')) sessionStorage.removeItem(k);
}

// appKey returns the app key this tab keeps for appId ({id, secret}), or null. The API lets only
// an app's own keys manage its webhooks: a key created in the console can be kept for that.
export function appKey(appId) {
  const s = session();
  if (s && s.who && s.who.key.type === 'app' && s.who.key.appId === appId) return { id: s.id, secret: s.secret };
  return (read(APP_KEYS) || {})[appId] || null;
}

export function keepAppKey(appId, key) {
  const all = read(APP_KEYS) || {};
  if (key) all[appId] = { id: key.id, secret: key.secret };
  else delete all[appId];
  sessionStorage.setItem(APP_KEYS, JSON.stringify(all));
}

async function errorOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: Go's server answers a few malformed requests in plain text
  }
  const errs = body && Array.isArray(body.errors) && body.errors.length ? body.errors : null;
  if (errs) return new ApiError(res.status, errs[0].code, errs[0].title, errs);
  return new ApiError(res.status, `http_${res.status}`, res.statusText || 'Request failed');
}

// request calls the API. opts: body (JSON), query (object), as ({id, secret}: another key than the
// session's), headers, signal, raw (return the Response). Throws ApiError.
export async function request(method, path, opts = {}) {
  const key = opts.as || session();
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  if (key) headers.Authorization = basic(key.id, key.secret);
  let body;
  if (opts.body !== undefined) {
    if (opts.body instanceof Blob || typeof opts.body === 'string') {
      body = opts.body;
      headers['Content-Type'] = headers['Content-Type'] || 'application/json';
    } else {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
  }
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString().replaceAll('%5B', '[').replaceAll('%5D', ']');
    if (s) url += `?${s}`;
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body, signal: opts.signal, credentials: 'omit', cache: 'no-store', redirect: 'error' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', `Sunlamp did not answer (${e.message})`);
  }
  if (!res.ok) throw await errorOf(res);
  if (opts.raw) return res;
  if (res.status === 204) return {};
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });
export const patch = (path, body, opts = {}) => request('PATCH', path, { ...opts, body });
export const del = (path, opts) => request('DELETE', path, opts);

// enc escapes one path segment.
export const enc = encodeURIComponent;

const routes = new Map();

// has reports whether the server routes method at path: an OPTIONS request, which no route takes,
// is answered 405 (with Allow) where a route exists and 404 where none does. It sends no
// credentials and changes nothing; the answer is remembered for the tab.
export async function has(method, path) {
  const k = `${method} ${path}`;
  if (!routes.has(k)) {
    routes.set(k, fetch(path, { method: 'OPTIONS', credentials: 'omit', cache: 'no-store' })
      .then((r) => r.status === 405 && (r.headers.get('Allow') || '').split(/,\s*/).includes(method))
      .catch(() => false));
  }
  return routes.get(k);
}

// stream reads a Server-Sent Events stream with the session's key (fetch, so that the key goes in
// a header), calling onEvent(name, data) for each event until signal aborts or the stream ends.
export async function stream(path, onEvent, signal) {
  const res = await request('GET', path, { raw: true, signal, headers: { Accept: 'text/event-stream' } });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trim());
      }
      if (!data.length) continue;
      let parsed = null;
      try {
        parsed = JSON.parse(data.join('\n'));
      } catch {
        continue;
      }
      onEvent(name, parsed);
    }
  }
}
