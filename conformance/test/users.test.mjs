// Users, Clients and Devices (issue 3) through the official client: every operation the client has
// (it lacks ListUsers and SyncUser), the JWT bearer path, and Delete User Personal Information.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, rejection, SunshineConversationsClient as S } from '../lib/server.mjs';
import { jwt, inbound, errorOf, assertEmpty } from '../lib/helpers.mjs';

const hex24 = /^[0-9a-f]{24}$/;
const timestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let srv, api, appId;
before(async () => {
  srv = await startServer();
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  appId = (await api.appsApi.createApp({ displayName: 'Users' })).app.id;
});
after(async () => { await srv?.stop(); });

test('users: create, get by id and by an externalId the client percent-encodes, update', async () => {
  // encodeURIComponent turns this into a%2Fb%20c%40x%3Fy%23z: one path segment that the server must
  // decode back, not split at "/" or cut at "?" and "#".
  const externalId = 'a/b c@x?y#z';
  const body = new S.UserCreateBody(externalId);
  body.signedUpAt = '2020-05-21T15:59:11.123Z';
  body.toBeRetained = true;
  const profile = new S.Profile();
  Object.assign(profile, { givenName: 'Steve', surname: 'Brule', email: 'steve@example.org', avatarUrl: 'https://example.org/s.png', locale: 'en-US' });
  body.profile = profile;
  body.metadata = { lang: 'en-ca', tier: 2, vip: true };

  const { data, response } = await api.usersApi.createUserWithHttpInfo(appId, body);
  assert.equal(response.status, 201);
  const user = data.user;
  assert.ok(user instanceof S.User);
  assert.match(user.id, hex24);
  assert.equal(user.externalId, externalId);
  assert.equal(user.signedUpAt, '2020-05-21T15:59:11.123Z');
  assert.deepEqual({ ...user.profile }, { givenName: 'Steve', surname: 'Brule', email: 'steve@example.org', avatarUrl: 'https://example.org/s.png', locale: 'en-US' });
  assert.deepEqual(user.metadata, { lang: 'en-ca', tier: 2, vip: true });
  assert.deepEqual(user.identities, []);
  // The client's User model drops toBeRetained (allow-list); the wire has it.
  assert.equal(user.toBeRetained, undefined);
  assert.equal(response.body.user.toBeRetained, true);

  const byExternal = await api.usersApi.getUser(appId, externalId);
  assert.equal(byExternal.user.id, user.id);
  assert.equal(byExternal.user.externalId, externalId);
  const byId = await api.usersApi.getUser(appId, user.id);
  // With cache off the client adds _=<ms> to every GET: unknown query parameters are ignored.
  const noCache = client(srv.url, { username: srv.keyId, password: srv.secret });
  noCache.cache = false;
  assert.equal((await apis(noCache).usersApi.getUser(appId, externalId)).user.id, user.id);
  assert.deepEqual(byId.user, byExternal.user);
  // Only the whole id matches: the part before "/" or "?" is nobody.
  for (const part of ['a', 'a/b c@x', 'a%2Fb']) {
    assert.deepEqual(await errorOf(api.usersApi.getUser(appId, part)), { status: 404, code: 'user_not_found', title: 'User not found' });
  }

  // UpdateUser: a profile field set to null is cleared, absent ones are kept; metadata is replaced.
  const update = new S.UserUpdateBody();
  update.profile = { givenName: 'Stephen', avatarUrl: null };
  update.metadata = { tier: 3 };
  const updated = (await api.usersApi.updateUser(appId, externalId, update)).user;
  assert.equal(updated.id, user.id);
  assert.equal(updated.externalId, externalId);
  assert.deepEqual({ ...updated.profile }, { givenName: 'Stephen', surname: 'Brule', email: 'steve@example.org', locale: 'en-US' });
  assert.deepEqual(updated.metadata, { tier: 3 });
  assert.equal(updated.signedUpAt, '2020-05-21T15:59:11.123Z');
  const retained = (await api.usersApi.updateUser(appId, user.id, { toBeRetained: false, signedUpAt: '2019-01-01T00:00:00.000Z' })).user;
  assert.equal(retained.signedUpAt, '2019-01-01T00:00:00.000Z');
  assert.deepEqual({ ...retained.profile }, { ...updated.profile });
  // externalId cannot be changed through UpdateUser.
  const ignored = (await api.usersApi.updateUser(appId, user.id, { externalId: 'other' })).user;
  assert.equal(ignored.externalId, externalId);
  assert.deepEqual((await api.usersApi.getUser(appId, user.id)).user, ignored);
});

test('users: a user without externalId, and the errors of the spec', async () => {
  const { user } = await api.usersApi.createUser(appId, {});
  assert.match(user.id, hex24);
  assert.equal(user.externalId, undefined);
  assert.match(user.signedUpAt, timestamp);
  assert.deepEqual({ ...user.profile }, {});
  assert.deepEqual(user.metadata, {});

  await api.usersApi.createUser(appId, new S.UserCreateBody('dup@example.org'));
  assert.deepEqual(await errorOf(api.usersApi.createUser(appId, new S.UserCreateBody('dup@example.org'))),
    { status: 409, code: 'conflict', title: 'User already exists' });

  const unknown = '5e8b49d936c1df272e8e1460';
  const notFound = { status: 404, code: 'user_not_found', title: 'User not found' };
  assert.deepEqual(await errorOf(api.usersApi.getUser(appId, unknown)), notFound);
  assert.deepEqual(await errorOf(api.usersApi.updateUser(appId, unknown, { metadata: {} })), notFound);
  assert.deepEqual(await errorOf(api.usersApi.deleteUser(appId, unknown)), notFound);
  assert.deepEqual(await errorOf(api.usersApi.deleteUserPersonalInformation(appId, unknown)), notFound);

  // 400s name the offending field.
  const empty = await errorOf(api.usersApi.createUser(appId, new S.UserCreateBody('')));
  assert.equal(empty.status, 400);
  assert.equal(empty.code, 'bad_request');
  assert.match(empty.title, /externalId/);
  const email = await errorOf(api.usersApi.createUser(appId, { externalId: 'bad-email', profile: { email: 'not an email' } }));
  assert.equal(email.status, 400);
  assert.equal(email.code, 'bad_request');
  assert.match(email.title, /email/);
  const meta = await errorOf(api.usersApi.updateUser(appId, user.id, { metadata: { nested: { no: 1 } } }));
  assert.equal(meta.status, 400);
  assert.equal(meta.code, 'bad_request');
  assert.match(meta.title, /metadata/);

  // The spec's metadata limit of 4 KB, in its words for apps.
  assert.deepEqual(await errorOf(api.usersApi.createUser(appId, { externalId: 'big', metadata: { a: 'x'.repeat(5000) } })),
    { status: 400, code: 'bad_request', title: 'User metadata is limited to 4096 bytes in size.' });
  // Users of one app are invisible through another app.
  const other = (await api.appsApi.createApp({ displayName: 'Other' })).app.id;
  assert.deepEqual(await errorOf(api.usersApi.getUser(other, user.id)), notFound);
  assert.deepEqual(await errorOf(api.usersApi.getUser(other, 'dup@example.org')), notFound);
  // An unknown app.
  assert.deepEqual(await errorOf(api.usersApi.getUser(unknown, user.id)), { status: 404, code: 'app_not_found', title: 'App not found' });
});

test('JWT bearer: app and account scope tokens work; bad tokens are 401', async () => {
  const { key } = await api.appKeysApi.createAppKey(appId, new S.AppKeyCreateBody('jwt key'));
  const appToken = jwt(key.id, key.secret, { scope: 'app' });
  const bearer = apis(client(srv.url, { token: appToken }));
  const { user } = await bearer.usersApi.createUser(appId, new S.UserCreateBody('jwt-user'));
  assert.equal((await bearer.usersApi.getUser(appId, 'jwt-user')).user.id, user.id);

  const account = apis(client(srv.url, { token: jwt(srv.keyId, srv.secret, { scope: 'account' }) }));
  assert.equal((await account.usersApi.getUser(appId, user.id)).user.externalId, 'jwt-user');

  // When both are configured the client sends only the bearer token: a good token wins over bad Basic.
  const both = client(srv.url, { username: srv.keyId, password: 'wrong', token: appToken });
  assert.equal((await apis(both).usersApi.getUser(appId, user.id)).user.id, user.id);

  const unauthorized = { status: 401, code: 'unauthorized', title: 'Authorization is required' };
  const bad = [
    jwt(key.id, 'not the secret', { scope: 'app' }),
    jwt(key.id, key.secret, { scope: 'account' }), // an app key cannot sign an account token
    jwt(key.id, key.secret, {}), // scope is required
    jwt('app_000000000000000000000000', key.secret, { scope: 'app' }),
    'not.a.jwt',
  ];
  for (const token of bad) {
    assert.deepEqual(await errorOf(apis(client(srv.url, { token })).usersApi.getUser(appId, user.id)), unauthorized, token);
  }
  // No credentials at all.
  assert.deepEqual(await errorOf(apis(client(srv.url)).usersApi.getUser(appId, user.id)), unauthorized);
  // The client also takes the token from a function, called for each request.
  let calls = 0;
  const fromFunction = client(srv.url);
  fromFunction.authentications.bearerAuth.accessToken = () => { calls++; return appToken; };
  assert.equal((await apis(fromFunction).usersApi.getUser(appId, user.id)).user.id, user.id);
  assert.equal(calls, 1);
  // alg none is refused.
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const none = b64({ alg: 'none', typ: 'JWT', kid: key.id }) + '.' + b64({ scope: 'app' }) + '.';
  assert.deepEqual(await errorOf(apis(client(srv.url, { token: none })).usersApi.getUser(appId, user.id)), unauthorized);

  // An app-scoped token reaches its own app only.
  const other = (await api.appsApi.createApp({ displayName: 'Elsewhere' })).app.id;
  const forbidden = await errorOf(bearer.usersApi.createUser(other, new S.UserCreateBody('x')));
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.code, 'forbidden');
});

test('Delete User Personal Information: the scrubbed user, clients kept without channel data, history kept', async () => {
  const body = new S.UserCreateBody('erase-me');
  body.profile = { givenName: 'Erin', surname: 'Ase', email: 'erin@example.org', avatarUrl: 'https://example.org/e.png', locale: 'fr-CA' };
  body.metadata = { plan: 'gold' };
  body.signedUpAt = '2021-01-02T03:04:05.006Z';
  const { user } = await api.usersApi.createUser(appId, body);
  // A WhatsApp client with channel data, and a message the customer wrote.
  const wa = await inbound(srv, appId, {
    channel: 'whatsapp', user: { id: user.id },
    client: { externalId: '+15145550100', displayName: 'Erin WA', avatarUrl: 'https://example.org/wa.png', info: { phoneNumber: '+15145550100' }, raw: { From: '+15145550100' } },
    content: { type: 'text', text: 'hello from whatsapp' },
  });
  const before = (await api.clientsApi.listClients(appId, user.id)).clients;
  assert.equal(before.length, 1);
  assert.equal(before[0].displayName, 'Erin WA');
  assert.deepEqual(before[0].info, { phoneNumber: '+15145550100' });

  const scrubbed = (await api.usersApi.deleteUserPersonalInformation(appId, 'erase-me')).user;
  assert.ok(scrubbed instanceof S.User);
  assert.equal(scrubbed.id, user.id);
  assert.equal(scrubbed.externalId, 'erase-me');
  assert.equal(scrubbed.signedUpAt, '2021-01-02T03:04:05.006Z');
  assert.deepEqual({ ...scrubbed.profile }, {});
  assert.deepEqual(scrubbed.metadata, {});
  assert.deepEqual(scrubbed.identities, []);
  assert.deepEqual((await api.usersApi.getUser(appId, user.id)).user, scrubbed);

  const [c] = (await api.clientsApi.listClients(appId, user.id)).clients;
  assert.equal(c.id, wa.client.id);
  assert.equal(c.type, 'whatsapp');
  assert.equal(c.externalId, '+15145550100');
  for (const f of ['displayName', 'avatarUrl', 'info', 'raw']) assert.equal(c[f], undefined, f);

  // The conversation and the message stay.
  const convs = (await api.conversationsApi.listConversations(appId, { userId: user.id })).conversations;
  assert.deepEqual(convs.map((x) => x.id), [wa.conversation.id]);
  const msgs = (await api.messagesApi.listMessages(appId, wa.conversation.id)).messages;
  assert.deepEqual(msgs.map((m) => m.content.text), ['hello from whatsapp']);
  assert.equal(msgs[0].author.userId, user.id);
  assert.equal(msgs[0].author.displayName, undefined, 'the author name came from the erased profile');

  // Again: harmless, the same user.
  assert.deepEqual((await api.usersApi.deleteUserPersonalInformation(appId, user.id)).user, scrubbed);
});

test('clients: link requests, paging by afterCursor, removal rules', async () => {
  const { user } = await api.usersApi.createUser(appId, new S.UserCreateBody('linker'));
  const whatsapp = (await api.integrationsApi.createIntegration(appId, { type: 'whatsapp', displayName: 'WA' })).integration;
  const mailgun = (await api.integrationsApi.createIntegration(appId, {
    type: 'mailgun', apiKey: 'key-x', domain: 'sandbox.mailgun.org', incomingAddress: 'in@sandbox.mailgun.org',
  })).integration;
  const conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;

  const confirmation = new S.Confirmation('prompt');
  confirmation.message = new S.MessagePost(new S.Author('business'), Object.assign(new S.TextMessage('text'), { text: 'Link your WhatsApp?' }));
  const waBody = new S.ClientCreate(new S.MatchCriteriaWhatsapp('whatsapp', whatsapp.id, '+1 212-555-2368'), confirmation, new S.Target(conv.id));
  const wa = (await api.clientsApi.createClient(appId, 'linker', waBody)).client;
  assert.ok(wa instanceof S.Client);
  assert.match(wa.id, hex24);
  assert.equal(wa.type, 'whatsapp');
  assert.equal(wa.status, 'pending');
  assert.equal(wa.integrationId, whatsapp.id);

  const mgCriteria = new S.MatchCriteriaMailgun('mailgun', mailgun.id, 'linker@example.org');
  mgCriteria.primary = false;
  const mg = (await api.clientsApi.createClient(appId, user.id, new S.ClientCreate(mgCriteria, new S.Confirmation('immediate'), new S.Target(conv.id)))).client;
  assert.equal(mg.type, 'mailgun');
  assert.equal(mg.status, 'pending');
  const sdk = (await inbound(srv, appId, { channel: 'sdk', user: { id: user.id } })).client;
  assert.equal(sdk.type, 'sdk');

  // Page by afterCursor (the client sends only the first key of `page`: size on the first call, then
  // after with the default size of 25).
  const page1 = await api.clientsApi.listClients(appId, 'linker', { page: { size: 1 } });
  assert.ok(page1 instanceof S.ClientListResponse);
  assert.equal(page1.clients.length, 1);
  assert.equal(page1.meta.hasMore, true);
  assert.match(page1.meta.afterCursor, hex24);
  assert.ok(page1.links.next, 'links.next when there is more');
  const page2 = await api.clientsApi.listClients(appId, 'linker', { page: { after: page1.meta.afterCursor } });
  assert.equal(page2.clients.length, 2);
  assert.equal(page2.meta.hasMore, false);
  assert.equal(page2.meta.afterCursor, undefined);
  assert.deepEqual(new Set([...page1.clients, ...page2.clients].map((c) => c.id)), new Set([wa.id, mg.id, sdk.id]));
  const all = await api.clientsApi.listClients(appId, user.id);
  assert.equal(all.clients.length, 3);
  assert.equal(all.meta.hasMore, false);

  // Bad cursors.
  const badPage = await errorOf(api.clientsApi.listClients(appId, user.id, { page: { after: 'short' } }));
  assert.equal(badPage.status, 400);
  assert.equal(badPage.code, 'bad_request');

  assertEmpty(await api.clientsApi.removeClient(appId, 'linker', wa.id));
  assert.deepEqual((await api.clientsApi.listClients(appId, user.id)).clients.map((c) => c.id).sort(), [mg.id, sdk.id].sort());
  assert.deepEqual(await errorOf(api.clientsApi.removeClient(appId, user.id, wa.id)), { status: 404, code: 'client_not_found', title: 'Client not found' });
  assert.deepEqual(await errorOf(api.clientsApi.removeClient(appId, user.id, sdk.id)), { status: 400, code: 'bad_request', title: "Cannot remove a client of type 'sdk'" });
  assert.deepEqual(await errorOf(api.clientsApi.listClients(appId, 'nobody')), { status: 404, code: 'user_not_found', title: 'User not found' });

  const missing = await errorOf(api.clientsApi.createClient(appId, user.id, { confirmation: { type: 'immediate' }, target: { conversationId: conv.id } }));
  assert.equal(missing.status, 400);
  assert.match(missing.title, /matchCriteria/);
});

test('devices: list sorted by last seen, get, not found', async () => {
  const { user } = await api.usersApi.createUser(appId, new S.UserCreateBody('device-owner'));
  const web = await inbound(srv, appId, {
    channel: 'sdk', user: { id: user.id },
    device: { type: 'web', guid: 'b0e3a1e8d39c4f8a9a4f1c2d3e4f5a6b', info: { browserLanguage: 'en-US', sdkVersion: '1.0.0' } },
  });
  const ios = await inbound(srv, appId, {
    channel: 'sdk', user: { externalId: 'device-owner' },
    device: { type: 'ios', guid: '9f8e7d6c5b4a39281706f5e4d3c2b1a0', pushNotificationToken: 'apns-token', appVersion: '2.0' },
  });
  assert.equal(ios.client.id, web.client.id, 'one sdk client for every SDK device');

  const { devices } = await api.devicesApi.listDevices(appId, 'device-owner');
  assert.equal(devices.length, 2);
  assert.ok(devices.every((d) => d instanceof S.Device));
  assert.deepEqual(new Set(devices.map((d) => d.id)), new Set([web.device.id, ios.device.id]));
  // Sorted by last seen (the spec leaves the direction open): check it is monotonic.
  const seen = devices.map((d) => d.lastSeen);
  assert.ok(seen.every((t) => timestamp.test(t)));
  assert.ok(String(seen) === String([...seen].sort()) || String(seen) === String([...seen].sort().reverse()), `not sorted: ${seen}`);

  // Seen again from the same device (same guid): the same device, seen later, with the new app version.
  const again = await inbound(srv, appId, {
    channel: 'sdk', user: { id: user.id }, device: { type: 'ios', guid: '9f8e7d6c5b4a39281706f5e4d3c2b1a0', pushNotificationToken: 'apns-token', appVersion: '2.1' },
  });
  assert.equal(again.device.id, ios.device.id);
  assert.ok(again.device.lastSeen >= ios.device.lastSeen);
  assert.equal((await api.devicesApi.listDevices(appId, user.id)).devices.length, 2);
  const got = (await api.devicesApi.getDevice(appId, user.id, ios.device.id)).device;
  assert.equal(got.type, 'ios');
  assert.equal(got.guid, '9f8e7d6c5b4a39281706f5e4d3c2b1a0');
  assert.equal(got.clientId, ios.client.id);
  assert.equal(got.status, 'active');
  assert.equal(got.pushNotificationToken, 'apns-token');
  assert.equal(got.appVersion, '2.1');
  const w = (await api.devicesApi.getDevice(appId, 'device-owner', web.device.id)).device;
  assert.deepEqual(w.info, { browserLanguage: 'en-US', sdkVersion: '1.0.0' });

  const notFound = { status: 404, code: 'device_not_found', title: 'Device not found' };
  assert.deepEqual(await errorOf(api.devicesApi.getDevice(appId, user.id, '5e8b49d936c1df272e8e1460')), notFound);
  // Another user's device is not this user's.
  const { user: other } = await api.usersApi.createUser(appId, new S.UserCreateBody('no-devices'));
  assert.deepEqual(await errorOf(api.devicesApi.getDevice(appId, other.id, ios.device.id)), notFound);
  assert.deepEqual((await api.devicesApi.listDevices(appId, other.id)).devices, []);
  assert.deepEqual(await errorOf(api.devicesApi.listDevices(appId, 'nobody')), { status: 404, code: 'user_not_found', title: 'User not found' });
});

test('DeleteUser: the user gone at once, its clients and conversation history soon after', async () => {
  const { user } = await api.usersApi.createUser(appId, new S.UserCreateBody('leaving'));
  const conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userExternalId: 'leaving' }] })).conversation;
  await api.messagesApi.postMessage(appId, conv.id, { author: { type: 'user', userId: user.id }, content: { type: 'text', text: 'bye' } });
  assertEmpty(await api.usersApi.deleteUser(appId, 'leaving'));
  const notFound = { status: 404, code: 'user_not_found', title: 'User not found' };
  assert.deepEqual(await errorOf(api.usersApi.getUser(appId, user.id)), notFound);
  assert.deepEqual(await errorOf(api.usersApi.getUser(appId, 'leaving')), notFound);
  assert.deepEqual(await errorOf(api.usersApi.deleteUser(appId, user.id)), notFound);
  assert.deepEqual(await errorOf(api.clientsApi.listClients(appId, user.id)), notFound);
  // The spec lets the history go asynchronously ("completely deleted once the user:delete webhook
  // is fired"): wait for it, a few seconds at most.
  const deadline = Date.now() + 10000;
  let last;
  while (Date.now() < deadline) {
    last = await rejection(api.conversationsApi.getConversation(appId, conv.id)).catch((e) => e);
    if (last.status === 404) break;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  assert.deepEqual(last.body, { errors: [{ code: 'conversation_not_found', title: 'Conversation not found' }] });
  assert.deepEqual(await errorOf(api.messagesApi.listMessages(appId, conv.id)), { status: 404, code: 'not_found', title: 'Resource not found' });
  // The externalId is free again.
  const again = (await api.usersApi.createUser(appId, new S.UserCreateBody('leaving'))).user;
  assert.notEqual(again.id, user.id);
});
