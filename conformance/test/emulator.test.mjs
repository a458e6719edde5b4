// Sunlamp's emulator controls (issue 15) seen through the official client: a fault on PostMessage
// reaches the client as the service's 429, with its envelope and Retry-After.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, rejection } from '../lib/server.mjs';
import { http, basic } from '../lib/helpers.mjs';

let srv, api, appId, conv, acct;
before(async () => {
  srv = await startServer({ args: ['--emulator'] });
  acct = basic(srv.keyId, srv.secret);
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  appId = (await api.appsApi.createApp({ displayName: 'Emulator' })).app.id;
  const user = (await api.usersApi.createUser(appId, { externalId: 'faulty' })).user;
  conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
});
after(async () => { await srv?.stop(); });

const message = { author: { type: 'business' }, content: { type: 'text', text: 'hello' } };

test('a fault on PostMessage: the official client sees 429 twice, with Retry-After, then succeeds', async () => {
  const created = await http(srv.url, 'POST', `/_sunlamp/v1/apps/${appId}/faults`, {
    auth: acct, body: { operationId: 'PostMessage', status: 429, count: 2, retryAfter: 1 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (let i = 0; i < 2; i++) {
    const err = await rejection(api.messagesApi.postMessage(appId, conv.id, message));
    assert.equal(err.status, 429);
    assert.deepEqual(err.body, { errors: [{ code: 'too_many_requests', title: 'Too many requests, retry later' }] });
    assert.equal(err.response.headers['retry-after'], '1');
  }
  const res = await api.messagesApi.postMessage(appId, conv.id, message);
  assert.equal(res.messages.length, 1);
  const list = await http(srv.url, 'GET', `/_sunlamp/v1/apps/${appId}/faults`, { auth: acct });
  assert.equal(list.status, 200);
  assert.equal(list.body.faults[0].fired, 2);
});

test('a fault naming no operation of an app is refused, naming the field', async () => {
  const res = await http(srv.url, 'POST', `/_sunlamp/v1/apps/${appId}/faults`, {
    auth: acct, body: { operationId: 'postMessage', status: 500 },
  });
  assert.equal(res.status, 400);
  assert.match(res.body.errors[0].title, /^operationId "postMessage" is not an operation of an app/);
});
