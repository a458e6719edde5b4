// Helpers shared by the conformance tests: JWTs as a user of the service mints them, plain HTTP for
// what the official client cannot send (Sunlamp's /_sunlamp extensions), and a local webhook receiver.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import assert from 'node:assert/strict';
import { rejection } from './server.mjs';

// errorOf awaits a call that must fail and returns {status, code, title}: its status and the only
// entry of its {"errors":[...]} body.
export async function errorOf(promise) {
  const err = await rejection(promise);
  assert.equal(err.body?.errors?.length, 1, `want one error, got ${err.status} ${JSON.stringify(err.body)}`);
  return { status: err.status, ...err.body.errors[0] };
}

// assertEmpty checks a call's result is the spec's 200 {}: the client resolves an empty object to the
// raw response text.
export function assertEmpty(result) {
  assert.equal(typeof result, 'string', `want the raw text of {}, got ${JSON.stringify(result)}`);
  assert.deepEqual(JSON.parse(result), {});
}

// jwt mints an HS256 token signed with secret, its header naming kid, as the service's docs show:
// header {alg:'HS256', typ:'JWT', kid}, payload e.g. {scope:'app'}.
export function jwt(kid, secret, payload) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = b64({ alg: 'HS256', typ: 'JWT', kid }) + '.' + b64(payload);
  return input + '.' + createHmac('sha256', secret).update(input).digest('base64url');
}

// basic returns the Authorization header value of a key id and secret.
export function basic(id, secret) {
  return 'Basic ' + Buffer.from(id + ':' + secret).toString('base64');
}

// http sends one JSON request with fetch and resolves to {status, headers, body} (body parsed when JSON).
export async function http(url, method, path, { auth, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth) headers.Authorization = auth;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('content-type') || '').startsWith('application/json')) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed };
}

// inbound simulates a customer writing in on a channel (Sunlamp's POST /_sunlamp/v1/apps/{appId}/inbound),
// which the v2 API cannot do: it is how SDK clients and devices come to exist.
export async function inbound(srv, appId, body) {
  const res = await http(srv.url, 'POST', `/_sunlamp/v1/apps/${appId}/inbound`, { auth: basic(srv.keyId, srv.secret), body });
  if (res.status !== 201) throw new Error(`inbound: got ${res.status} ${JSON.stringify(res.body)}, want 201`);
  return res.body;
}

// receiver starts an HTTP server on 127.0.0.1 that records every POST it gets and answers 200.
// It resolves to {url, requests, waitFor(pred, ms), close()}.
export async function receiver() {
  const requests = [];
  const waiters = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      let body;
      try { body = JSON.parse(raw); } catch { body = raw; }
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
      for (const w of [...waiters]) w();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  // waitFor resolves to the first recorded request for which pred is true, or rejects after ms.
  const waitFor = (pred, ms = 15000) => new Promise((ok, fail) => {
    const check = () => {
      const hit = requests.find(pred);
      if (!hit) return false;
      clearTimeout(timer);
      waiters.splice(waiters.indexOf(check), 1);
      ok(hit);
      return true;
    };
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(check), 1);
      fail(new Error(`no matching webhook delivery in ${ms}ms; got ${JSON.stringify(requests.map((r) => r.body))}`));
    }, ms);
    waiters.push(check);
    check();
  });
  const close = () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); });
  return { url, requests, waitFor, close };
}
