// Webhooks (issue 5) through the official client: CRUD with an app key and with the custom
// integration's own key, and deliveries from the server's dispatcher (inside `sunlamp serve`) to a
// local HTTP receiver, authenticated by the X-API-Key header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, SunshineConversationsClient as S } from '../lib/server.mjs';
import { errorOf, assertEmpty, receiver, inbound } from '../lib/helpers.mjs';

const hex24 = /^[0-9a-f]{24}$/;
const timestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const unknown = '5e8b49d936c1df272e8e1460';
const resourceNotFound = { status: 404, code: 'not_found', title: 'Resource not found' };
const integrationNotFound = { status: 404, code: 'integration_not_found', title: 'Integration not found' };

let srv, account, api, appId, hooks;
before(async () => {
  srv = await startServer();
  account = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  appId = (await account.appsApi.createApp({ displayName: 'Webhooks' })).app.id;
  // The spec lists app and integration scope for the Webhooks operations: use an app key.
  const { key } = await account.appKeysApi.createAppKey(appId, new S.AppKeyCreateBody('webhooks'));
  api = apis(client(srv.url, { username: key.id, password: key.secret }));
  hooks = await receiver();
});
after(async () => {
  await srv?.stop();
  await hooks?.close();
});

// freshApp creates an app with an app key (an app holds at most 10 webhooks) and returns its id and
// the client's APIs authenticated with that key.
async function freshApp(name) {
  const id = (await account.appsApi.createApp({ displayName: name })).app.id;
  const { key } = await account.appKeysApi.createAppKey(id, new S.AppKeyCreateBody(name));
  return { id, api: apis(client(srv.url, { username: key.id, password: key.secret })) };
}

// newCustom creates a custom integration (with the one webhook it must have) and returns it with
// that webhook as the server sent it.
async function newCustom(target, triggers, extra = {}, app = { id: appId, api }) {
  const webhook = Object.assign(new S.Webhook(target, triggers), extra);
  const { response } = await app.api.integrationsApi.createIntegrationWithHttpInfo(app.id, new S.Custom('custom', [webhook]));
  const integration = response.body.integration;
  return { integration, webhook: integration.webhooks[0] };
}

test('webhooks: create, list, get, update, delete', async () => {
  const { integration, webhook: first } = await newCustom('https://example.org/first', ['conversation:create']);
  // WebhookCreateBody's constructor ignores its arguments (and its constructFromObject copies
  // nothing): users set the fields themselves.
  const body = Object.assign(new S.WebhookCreateBody(), {
    target: 'https://example.org/second', triggers: ['conversation:message', 'user:remove'], includeFullUser: true,
  });
  const { data, response } = await api.webhooksApi.createWebhookWithHttpInfo(appId, integration.id, body);
  assert.equal(response.status, 201);
  const hook = data.webhook;
  assert.ok(hook instanceof S.Webhook);
  assert.match(hook.id, hex24);
  assert.equal(hook.version, 'v2');
  assert.equal(hook.target, 'https://example.org/second');
  assert.deepEqual(hook.triggers, ['conversation:message', 'user:remove']);
  assert.equal(hook.includeFullUser, true);
  assert.equal(hook.includeFullSource, false);
  assert.match(hook.secret, /^[0-9a-f]{32}$/);
  assert.deepEqual(response.body.webhook, { ...hook }, 'the typed webhook keeps every field');

  const list = await api.webhooksApi.listWebhooks(appId, integration.id);
  assert.ok(list instanceof S.WebhookListResponse);
  assert.deepEqual(list.webhooks.map((w) => w.id).sort(), [first.id, hook.id].sort());
  assert.ok(list.webhooks.every((w) => w.secret), 'secrets are listed');
  assert.deepEqual({ ...(await api.webhooksApi.getWebhook(appId, integration.id, hook.id)).webhook }, { ...hook });

  const update = Object.assign(new S.WebhookBody(), { target: 'https://example.org/moved', triggers: ['conversation:read'], includeFullSource: true });
  const updated = (await api.webhooksApi.updateWebhook(appId, integration.id, hook.id, update)).webhook;
  assert.deepEqual({ ...updated }, { ...hook, target: 'https://example.org/moved', triggers: ['conversation:read'], includeFullSource: true });
  // Absent fields are kept.
  const again = (await api.webhooksApi.updateWebhook(appId, integration.id, hook.id, { includeFullUser: false })).webhook;
  assert.deepEqual({ ...again }, { ...updated, includeFullUser: false });

  assertEmpty(await api.webhooksApi.deleteWebhook(appId, integration.id, hook.id));
  assert.deepEqual((await api.webhooksApi.listWebhooks(appId, integration.id)).webhooks.map((w) => w.id), [first.id]);
  for (const call of [
    () => api.webhooksApi.getWebhook(appId, integration.id, hook.id),
    () => api.webhooksApi.updateWebhook(appId, integration.id, hook.id, { target: 'https://example.org/x' }),
    () => api.webhooksApi.deleteWebhook(appId, integration.id, hook.id),
    () => api.webhooksApi.getWebhook(appId, integration.id, unknown),
  ]) assert.deepEqual(await errorOf(call()), resourceNotFound);
});

test('webhooks: refusals and 404s', async () => {
  const { integration } = await newCustom('https://example.org/hook', ['conversation:message']);
  for (const [body, field] of [
    [{ triggers: ['conversation:message'] }, /target/],
    [{ target: 'https://example.org/x' }, /triggers/],
    [{ target: 'not a url', triggers: ['conversation:message'] }, /target/],
    [{ target: 'https://example.org/x', triggers: [] }, /triggers/],
    [{ target: 'https://example.org/x', triggers: ['Conversation:Message'] }, /triggers/], // case-sensitive
    [{ target: 'https://example.org/x', triggers: ['conversation:message'], includeFullUser: 'yes' }, /includeFullUser/],
  ]) {
    const e = await errorOf(api.webhooksApi.createWebhook(appId, integration.id, body));
    assert.equal(e.status, 400, JSON.stringify(body));
    assert.equal(e.code, 'bad_request');
    assert.match(e.title, field);
  }
  const [hook] = (await api.webhooksApi.listWebhooks(appId, integration.id)).webhooks;
  const badUpdate = await errorOf(api.webhooksApi.updateWebhook(appId, integration.id, hook.id, { triggers: ['nope'] }));
  assert.equal(badUpdate.status, 400);
  assert.match(badUpdate.title, /triggers/);

  assert.deepEqual(await errorOf(api.webhooksApi.createWebhook(appId, unknown, { target: 'https://example.org/x', triggers: ['conversation:message'] })), integrationNotFound);
  assert.deepEqual(await errorOf(api.webhooksApi.listWebhooks(appId, unknown)), integrationNotFound);
  // A web integration cannot own webhooks.
  const web = (await api.integrationsApi.createIntegration(appId, new S.Web('web'))).integration;
  const notCustom = await errorOf(api.webhooksApi.createWebhook(appId, web.id, { target: 'https://example.org/x', triggers: ['conversation:message'] }));
  assert.equal(notCustom.status, 400);
  assert.equal(notCustom.code, 'bad_request');
  // Another app's key sees nothing.
  const other = (await account.appsApi.createApp({ displayName: 'Other' })).app.id;
  const { key } = await account.appKeysApi.createAppKey(other, new S.AppKeyCreateBody('other'));
  const otherApi = apis(client(srv.url, { username: key.id, password: key.secret }));
  assert.equal((await errorOf(otherApi.webhooksApi.getWebhook(appId, integration.id, hook.id))).status, 403);
  assert.deepEqual(await errorOf(otherApi.webhooksApi.listWebhooks(other, integration.id)), integrationNotFound);
});

test('webhooks: at most 10 per app', async () => {
  const app = (await account.appsApi.createApp({ displayName: 'Ten' })).app.id;
  const { key } = await account.appKeysApi.createAppKey(app, new S.AppKeyCreateBody('k'));
  const a = apis(client(srv.url, { username: key.id, password: key.secret }));
  const one = (await a.integrationsApi.createIntegrationWithHttpInfo(app, new S.Custom('custom', [new S.Webhook('https://example.org/0', ['conversation:message'])]))).response.body.integration;
  const two = (await a.integrationsApi.createIntegrationWithHttpInfo(app, new S.Custom('custom', [new S.Webhook('https://example.org/1', ['conversation:message'])]))).response.body.integration;
  for (let i = 2; i < 10; i++) {
    await a.webhooksApi.createWebhook(app, i % 2 ? one.id : two.id, { target: `https://example.org/${i}`, triggers: ['conversation:message'] });
  }
  const eleventh = await errorOf(a.webhooksApi.createWebhook(app, one.id, { target: 'https://example.org/10', triggers: ['conversation:message'] }));
  assert.equal(eleventh.status, 400);
  assert.equal(eleventh.code, 'bad_request');
  const viaIntegration = await errorOf(a.integrationsApi.createIntegration(app, new S.Custom('custom', [new S.Webhook('https://example.org/11', ['conversation:message'])])));
  assert.equal(viaIntegration.status, 400);
});

test("webhooks with the integration's own key: its own webhooks, also as `me`, and no one else's", async () => {
  const { integration: mine, webhook } = await newCustom('https://example.org/mine', ['conversation:message']);
  const { integration: theirs } = await newCustom('https://example.org/theirs', ['conversation:message']);
  const { key } = await account.customIntegrationApiKeysApi.createCustomIntegrationKey(appId, mine.id, new S.IntegrationApiKey('bot'));
  const bot = apis(client(srv.url, { username: key.id, password: key.secret }));

  assert.deepEqual((await bot.webhooksApi.listWebhooks(appId, mine.id)).webhooks.map((w) => w.id), [webhook.id]);
  assert.deepEqual((await bot.webhooksApi.listWebhooks(appId, 'me')).webhooks.map((w) => w.id), [webhook.id]);
  const created = (await bot.webhooksApi.createWebhook(appId, 'me', { target: 'https://example.org/mine2', triggers: ['conversation:create'] })).webhook;
  assert.equal((await bot.webhooksApi.getWebhook(appId, mine.id, created.id)).webhook.target, 'https://example.org/mine2');
  assertEmpty(await bot.webhooksApi.deleteWebhook(appId, 'me', created.id));

  for (const call of [
    () => bot.webhooksApi.listWebhooks(appId, theirs.id),
    () => bot.webhooksApi.createWebhook(appId, theirs.id, { target: 'https://example.org/steal', triggers: ['conversation:message'] }),
  ]) {
    const e = await errorOf(call());
    assert.equal(e.status, 403);
    assert.equal(e.code, 'forbidden');
  }
});

test('delivery: conversation:message and conversation:read reach a local receiver with X-API-Key', async () => {
  const { integration, webhook: onMessage } = await newCustom(hooks.url + '/messages', ['conversation:message'], { includeFullUser: true });
  const onRead = (await api.webhooksApi.createWebhook(appId, integration.id, {
    target: hooks.url + '/reads', triggers: ['conversation:create', 'conversation:read'],
  })).webhook;

  const body = new S.UserCreateBody('hooked');
  body.profile = { givenName: 'Hugo', surname: 'Ok', email: 'hugo@example.org' };
  const { user } = await api.usersApi.createUser(appId, body);
  const conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  const content = { type: 'text', text: 'Where is my order?' };
  const [msg] = (await api.messagesApi.postMessage(appId, conv.id, new S.MessagePost(Object.assign(new S.Author('user'), { userId: user.id }), content))).messages;
  await api.activitiesApi.postActivity(appId, conv.id, new S.ActivityPost(Object.assign(new S.Author('user'), { userId: user.id }), 'conversation:read'));

  const events = (req) => (Array.isArray(req.body?.events) ? req.body.events : []);
  const delivery = await hooks.waitFor((r) => r.url === '/messages' && events(r).some((e) => e.payload?.message?.id === msg.id));
  assert.equal(delivery.method, 'POST');
  assert.equal(delivery.headers['x-api-key'], onMessage.secret);
  assert.match(delivery.headers['content-type'], /^application\/json/);
  assert.deepEqual(delivery.body.app, { id: appId });
  assert.deepEqual(delivery.body.webhook, { id: onMessage.id, version: 'v2' });
  for (const e of delivery.body.events) assert.equal(e.type, 'conversation:message', 'only subscribed triggers');
  const event = delivery.body.events.find((e) => e.payload.message.id === msg.id);
  assert.match(event.id, hex24);
  assert.match(event.createdAt, timestamp);
  const { payload } = event;
  assert.equal(payload.conversation.id, conv.id);
  assert.equal(payload.conversation.type, 'personal');
  assert.equal(payload.message.received, msg.received);
  assert.deepEqual(payload.message.content, content);
  assert.equal(payload.message.source.type, 'api:conversations');
  assert.equal(payload.message.author.type, 'user');
  assert.equal(payload.message.author.userId, user.id);
  assert.equal(payload.message.author.user.id, user.id);
  // The official client can read the event with its own model.
  const typedEvent = S.ConversationMessageEvent.constructFromObject(event);
  assert.equal(typedEvent.payload.message.id, msg.id);
  assert.equal(typedEvent.payload.message.content.text, 'Where is my order?');

  const read = await hooks.waitFor((r) => r.url === '/reads' && events(r).some((e) => e.type === 'conversation:read' && e.payload?.conversation?.id === conv.id));
  assert.equal(read.headers['x-api-key'], onRead.secret);
  assert.notEqual(onRead.secret, onMessage.secret);
  const readEvent = read.body.events.find((e) => e.type === 'conversation:read');
  assert.equal(readEvent.payload.activity.type, 'conversation:read');
  assert.equal(readEvent.payload.activity.author.type, 'user');
  assert.equal(readEvent.payload.activity.author.userId, user.id);
  const created = await hooks.waitFor((r) => r.url === '/reads' && events(r).some((e) => e.type === 'conversation:create' && e.payload?.conversation?.id === conv.id));
  assert.equal(created.body.events.find((e) => e.type === 'conversation:create').payload.creationReason, 'none');
  // No delivery carried an event the webhook did not subscribe to.
  const subscribed = { '/messages': ['conversation:message'], '/reads': ['conversation:create', 'conversation:read'] };
  for (const r of hooks.requests.filter((r) => r.url in subscribed)) {
    for (const e of events(r)) assert.ok(subscribed[r.url].includes(e.type), `${r.url} got ${e.type}`);
  }
});

test("delivery: a user-authored message's author carries the user, complete with includeFullUser", async () => {
  const { integration, webhook: full } = await newCustom(hooks.url + '/full', ['conversation:message'], { includeFullUser: true });
  const truncated = (await api.webhooksApi.createWebhook(appId, integration.id, { target: hooks.url + '/truncated', triggers: ['conversation:message'] })).webhook;
  assert.notEqual(truncated.id, full.id);
  const body = new S.UserCreateBody('full-user');
  body.profile = { givenName: 'Fay', surname: 'Full', email: 'fay@example.org' };
  body.signedUpAt = '2022-02-02T02:02:02.002Z';
  const { user } = await api.usersApi.createUser(appId, body);
  const conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  const [msg] = (await api.messagesApi.postMessage(appId, conv.id, { author: { type: 'user', userId: user.id }, content: { type: 'text', text: 'hi' } })).messages;
  const find = (path) => hooks.waitFor((r) => r.url === path && (r.body?.events || []).some((e) => e.payload?.message?.id === msg.id))
    .then((r) => r.body.events.find((e) => e.payload.message.id === msg.id).payload.message.author);

  const t = await find('/truncated');
  assert.deepEqual(t.user, { id: user.id, externalId: 'full-user', authenticated: false });
  assert.equal(t.displayName, 'Fay Full');
  const f = await find('/full');
  assert.equal(f.user.id, user.id);
  assert.equal(f.user.externalId, 'full-user');
  assert.equal(f.user.signedUpAt, '2022-02-02T02:02:02.002Z');
  assert.deepEqual(f.user.profile, { givenName: 'Fay', surname: 'Full', email: 'fay@example.org' });
  assert.equal(f.displayName, 'Fay Full');
});

test('delivery: the triggers that users, clients, conversations and participants operations cause', async () => {
  const triggers = ['conversation:create', 'conversation:join', 'conversation:leave', 'conversation:remove', 'conversation:typing',
    'client:add', 'client:remove', 'user:remove'];
  const { webhook } = await newCustom(hooks.url + '/lifecycle', triggers);
  const whatsapp = (await api.integrationsApi.createIntegration(appId, { type: 'whatsapp' })).integration;
  const { user } = await api.usersApi.createUser(appId, new S.UserCreateBody('lifecycle'));
  const personal = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  const group = (await api.conversationsApi.createConversation(appId, { type: 'sdkGroup', metadata: { team: 'blue' } })).conversation;
  await api.participantsApi.joinConversation(appId, group.id, { userId: user.id, subscribeSDKClient: false });
  await api.participantsApi.leaveConversation(appId, group.id, { userExternalId: 'lifecycle' });
  await api.activitiesApi.postActivity(appId, group.id, { author: { type: 'business' }, type: 'typing:start' });
  await api.conversationsApi.deleteConversation(appId, group.id);
  const linked = (await api.clientsApi.createClient(appId, user.id, new S.ClientCreate(
    new S.MatchCriteriaWhatsapp('whatsapp', whatsapp.id, '+15145550123'), new S.Confirmation('immediate'), new S.Target(personal.id)))).client;
  await api.clientsApi.removeClient(appId, user.id, linked.id);
  await api.usersApi.deleteUser(appId, user.id);

  // event waits for the delivery of an event of type whose payload passes pred, and returns it.
  const event = async (type, pred) => {
    const match = (e) => e.type === type && pred(e.payload);
    const r = await hooks.waitFor((r) => r.url === '/lifecycle' && (r.body?.events || []).some(match));
    assert.equal(r.headers['x-api-key'], webhook.secret);
    return r.body.events.find(match).payload;
  };
  const truncatedUser = { id: user.id, externalId: 'lifecycle', authenticated: false };
  const groupTruncated = { id: group.id, type: 'sdkGroup', metadata: { team: 'blue' } };

  const created = await event('conversation:create', (p) => p.conversation.id === personal.id);
  assert.deepEqual(created.conversation, { id: personal.id, type: 'personal' });
  assert.equal(created.creationReason, 'none');
  assert.equal(created.user.id, user.id, 'a personal conversation:create names its user');
  const createdGroup = await event('conversation:create', (p) => p.conversation.id === group.id);
  assert.deepEqual(createdGroup.conversation, groupTruncated);
  assert.deepEqual(await event('conversation:join', (p) => p.conversation.id === group.id), { conversation: groupTruncated, user: truncatedUser });
  assert.deepEqual(await event('conversation:leave', (p) => p.conversation.id === group.id), { conversation: groupTruncated, user: truncatedUser });
  const typing = await event('conversation:typing', (p) => p.conversation.id === group.id);
  assert.equal(typing.activity.type, 'typing:start');
  assert.equal(typing.activity.author.type, 'business');
  assert.deepEqual(await event('conversation:remove', (p) => p.conversation.id === group.id), { conversation: groupTruncated });

  const added = await event('client:add', (p) => p.client.id === linked.id);
  assert.equal(added.reason, 'channelLinking');
  assert.deepEqual(added.conversation, { id: personal.id, type: 'personal' });
  assert.deepEqual(added.user, truncatedUser);
  assert.equal(added.client.type, 'whatsapp');
  assert.equal(added.client.status, 'pending');
  assert.equal(added.client.integrationId, whatsapp.id);
  const removed = await event('client:remove', (p) => p.client.id === linked.id);
  assert.equal(removed.reason, 'api');
  assert.deepEqual(removed.user, truncatedUser);
  assert.deepEqual(await event('user:remove', (p) => p.user.id === user.id), { user: truncatedUser });

});

test('delivery: once user:remove arrives, the deleted user\'s conversation history is gone', async () => {
  // The spec: "The user is considered completely deleted once the user:delete [user:remove] webhook is fired."
  // A history of a thousand messages makes the window visible (with a few hundred, it shows most times).
  const app = await freshApp('Removal');
  const { api, id: appId } = app;
  const { webhook } = await newCustom(hooks.url + '/removed', ['user:remove'], {}, app);
  const { user } = await api.usersApi.createUser(appId, new S.UserCreateBody('long-history'));
  const conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = 0; i < 250; i++) {
      await api.messagesApi.postMessage(appId, conv.id, { author: { type: 'user', userId: user.id }, content: { type: 'text', text: `m${i}` } });
    }
  }));
  await api.usersApi.deleteUser(appId, user.id);
  const delivery = await hooks.waitFor((r) => r.url === '/removed' && (r.body?.events || []).some((e) => e.payload?.user?.id === user.id));
  assert.equal(delivery.headers['x-api-key'], webhook.secret);
  assert.deepEqual(await errorOf(api.conversationsApi.getConversation(appId, conv.id)), { status: 404, code: 'conversation_not_found', title: 'Conversation not found' });
  assert.deepEqual(await errorOf(api.messagesApi.listMessages(appId, conv.id)), { status: 404, code: 'not_found', title: 'Resource not found' });
});

// messageOf waits for the conversation:message delivery of message id to path, and returns the message.
async function messageOf(path, id) {
  const r = await hooks.waitFor((r) => r.url === path && (r.body?.events || []).some((e) => e.payload?.message?.id === id));
  return r.body.events.find((e) => e.payload.message.id === id).payload.message;
}

test('delivery: includeFullSource puts the client and device a customer wrote from into source', async () => {
  const app = await freshApp('Sources');
  const { api, id: appId } = app;
  await newCustom(hooks.url + '/source', ['conversation:message'], { includeFullSource: true }, app);
  await newCustom(hooks.url + '/nosource', ['conversation:message'], {}, app);
  const web = (await api.integrationsApi.createIntegration(appId, new S.Web('web'))).integration;
  // A customer writes in from the Web SDK (Sunlamp's inbound simulator stands in for the SDK).
  const r = await inbound(srv, appId, {
    channel: 'sdk', integrationId: web.id, device: { type: 'web', guid: 'c0ffee00c0ffee00c0ffee00c0ffee00', info: { currentUrl: 'https://acme.example.org' } },
    content: { type: 'text', text: 'from the web widget' },
  });
  const [msg] = r.messages;
  const plain = await messageOf('/nosource', msg.id);
  assert.deepEqual(plain.source, { type: 'sdk', integrationId: web.id });
  const full = await messageOf('/source', msg.id);
  assert.equal(full.source.type, 'sdk');
  assert.equal(full.source.integrationId, web.id);
  assert.equal(full.source.client?.id, r.client.id);
  assert.equal(full.source.client?.type, 'sdk');
  assert.equal(full.source.device?.id, r.device.id);
  assert.equal(full.source.device?.guid, 'c0ffee00c0ffee00c0ffee00c0ffee00');
});

test('delivery: the message of conversation:message has the messageWebhook fields only', async () => {
  const app = await freshApp('Fields');
  const { api, id: appId } = app;
  await newCustom(hooks.url + '/fields', ['conversation:message'], {}, app);
  const c = (await api.conversationsApi.createConversation(appId, { type: 'sdkGroup' })).conversation;
  const [msg] = (await api.messagesApi.postMessage(appId, c.id, { author: { type: 'business' }, content: { type: 'text', text: 'plain' } })).messages;
  const m = await messageOf('/fields', msg.id);
  const allowed = ['id', 'received', 'author', 'content', 'source', 'quotedMessage', 'metadata', 'deleted'];
  for (const k of Object.keys(m)) assert.ok(allowed.includes(k), `unexpected message field ${k}: ${JSON.stringify(m[k])}`);
  assert.deepEqual(m.content, { type: 'text', text: 'plain' });
});

test('delivery: an updated webhook delivers to its new target with its triggers; a deleted one gets nothing', async () => {
  const app = await freshApp('Changes');
  const { api, id: appId } = app;
  const { integration, webhook: moving } = await newCustom(hooks.url + '/before-move', ['conversation:create'], {}, app);
  const doomed = (await api.webhooksApi.createWebhook(appId, integration.id, { target: hooks.url + '/doomed', triggers: ['conversation:message'] })).webhook;
  await api.webhooksApi.updateWebhook(appId, integration.id, moving.id, { target: hooks.url + '/after-move', triggers: ['conversation:message'] });
  await api.webhooksApi.deleteWebhook(appId, integration.id, doomed.id);

  const c = (await api.conversationsApi.createConversation(appId, { type: 'sdkGroup' })).conversation;
  const [msg] = (await api.messagesApi.postMessage(appId, c.id, { author: { type: 'business' }, content: { type: 'text', text: 'moved' } })).messages;
  const m = await messageOf('/after-move', msg.id);
  assert.deepEqual(m.content, { type: 'text', text: 'moved' });
  const moved = hooks.requests.find((r) => r.url === '/after-move');
  assert.equal(moved.headers['x-api-key'], moving.secret, 'the secret stays with the webhook');
  // Give any stray delivery a moment, then check nothing reached the old target or the deleted webhook.
  await new Promise((ok) => setTimeout(ok, 500));
  const mine = (r) => (r.body?.events || []).some((e) => e.payload?.conversation?.id === c.id);
  assert.deepEqual(hooks.requests.filter((r) => ['/before-move', '/doomed'].includes(r.url) && mine(r)), []);
  for (const r of hooks.requests.filter((r) => r.url === '/after-move' && mine(r))) {
    for (const e of r.body.events) assert.equal(e.type, 'conversation:message', 'the old trigger conversation:create is gone');
  }
});
