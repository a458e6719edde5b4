// Conversations and Participants (issue 4) through the official client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, SunshineConversationsClient as S } from '../lib/server.mjs';
import { errorOf, assertEmpty, inbound, http, basic } from '../lib/helpers.mjs';

const hex24 = /^[0-9a-f]{24}$/;
const timestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const unknown = '5e8b49d936c1df272e8e1460';
const convNotFound = { status: 404, code: 'conversation_not_found', title: 'Conversation not found' };

let srv, api, appId;
before(async () => {
  srv = await startServer();
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  appId = (await api.appsApi.createApp({ displayName: 'Conversations' })).app.id;
});
after(async () => { await srv?.stop(); });

async function newUser(externalId) {
  return (await api.usersApi.createUser(appId, new S.UserCreateBody(externalId))).user;
}

test('personal conversations: create, get, update, delete; the default one stays', async () => {
  const user = await newUser('pat');
  // The client's ParticipantWithUserId constructor ignores its argument: set the field.
  const participant = Object.assign(new S.ParticipantWithUserId(), { userId: user.id });
  const body = new S.ConversationCreateBody('personal');
  Object.assign(body, {
    participants: [participant], displayName: 'Support', description: 'Help with an order',
    iconUrl: 'https://example.org/icon.png', metadata: { order: '1234', priority: 2, vip: false },
  });
  const { data, response } = await api.conversationsApi.createConversationWithHttpInfo(appId, body);
  assert.equal(response.status, 201);
  const first = data.conversation;
  assert.ok(first instanceof S.Conversation);
  assert.match(first.id, hex24);
  assert.equal(first.type, 'personal');
  assert.equal(first.isDefault, true, "the user's first personal conversation is the default");
  assert.equal(first.displayName, 'Support');
  assert.equal(first.description, 'Help with an order');
  assert.equal(first.iconUrl, 'https://example.org/icon.png');
  assert.deepEqual(first.metadata, { order: '1234', priority: 2, vip: false });
  assert.match(first.createdAt, timestamp);
  assert.match(first.lastUpdatedAt, timestamp);
  // Nobody is in control: the spec leaves these out.
  assert.ok(!('activeSwitchboardIntegration' in response.body.conversation));
  assert.ok(!('pendingSwitchboardIntegration' in response.body.conversation));

  const second = (await api.conversationsApi.createConversation(appId, {
    type: 'personal', participants: [{ userExternalId: 'pat' }],
  })).conversation;
  assert.equal(second.isDefault, false);
  assert.equal(second.displayName, undefined);

  assert.deepEqual((await api.conversationsApi.getConversation(appId, first.id)).conversation, first);

  // Update: null unsets, absent keeps, metadata replaced.
  const update = new S.ConversationUpdateBody();
  Object.assign(update, { displayName: 'Renamed', description: null, metadata: { order: '999' } });
  const updated = (await api.conversationsApi.updateConversation(appId, first.id, update)).conversation;
  assert.equal(updated.id, first.id);
  assert.equal(updated.displayName, 'Renamed');
  assert.equal(updated.description, undefined);
  assert.equal(updated.iconUrl, 'https://example.org/icon.png');
  assert.deepEqual(updated.metadata, { order: '999' });
  assert.equal(updated.createdAt, first.createdAt);
  assert.deepEqual((await api.conversationsApi.getConversation(appId, first.id)).conversation, updated);

  // The default conversation cannot be deleted; another one can.
  assert.deepEqual(await errorOf(api.conversationsApi.deleteConversation(appId, first.id)), {
    status: 400, code: 'bad_request', title: `Conversation ${first.id} cannot be deleted because it is the default.`,
  });
  await api.messagesApi.postMessage(appId, second.id, { author: { type: 'business' }, content: { type: 'text', text: 'bye' } });
  assertEmpty(await api.conversationsApi.deleteConversation(appId, second.id));
  // Its messages went with it.
  assert.deepEqual(await errorOf(api.messagesApi.listMessages(appId, second.id)), { status: 404, code: 'not_found', title: 'Resource not found' });
  assert.deepEqual(await errorOf(api.conversationsApi.getConversation(appId, second.id)), convNotFound);
  assert.deepEqual(await errorOf(api.conversationsApi.deleteConversation(appId, second.id)), convNotFound);
  assert.equal((await api.conversationsApi.getConversation(appId, first.id)).conversation.id, first.id);
});

test('conversations: errors of the spec, and 400s that name the field', async () => {
  const user = await newUser('errors');
  for (const call of [
    () => api.conversationsApi.getConversation(appId, unknown),
    () => api.conversationsApi.updateConversation(appId, unknown, { displayName: 'x' }),
    () => api.conversationsApi.deleteConversation(appId, unknown),
  ]) assert.deepEqual(await errorOf(call()), convNotFound);

  const userNotFound = { status: 404, code: 'user_not_found', title: 'User not found' };
  assert.deepEqual(await errorOf(api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: unknown }] })), userNotFound);
  assert.deepEqual(await errorOf(api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userExternalId: 'nobody' }] })), userNotFound);

  const cases = [
    [{}, /type/],
    [{ type: 'group' }, /type/],
    [{ type: 'personal' }, /participants/],
    [{ type: 'personal', participants: [{ userId: user.id }, { userExternalId: 'errors' }] }, /participants/],
    [{ type: 'sdkGroup', participants: [{ userId: user.id }] }, /subscribeSDKClient/],
    [{ type: 'personal', participants: [{ userId: user.id }], displayName: '' }, /displayName/],
    [{ type: 'personal', participants: [{ userId: user.id }], iconUrl: 'not a url' }, /iconUrl/],
    [{ type: 'personal', participants: [{ userId: user.id }], metadata: { a: [1] } }, /metadata/],
  ];
  for (const [body, field] of cases) {
    const e = await errorOf(api.conversationsApi.createConversation(appId, body));
    assert.equal(e.status, 400, JSON.stringify(body));
    assert.equal(e.code, 'bad_request');
    assert.match(e.title, field);
  }
  const conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  const long = await errorOf(api.conversationsApi.updateConversation(appId, conv.id, { description: 'x'.repeat(101) }));
  assert.equal(long.status, 400);
  assert.match(long.title, /description/);

  // Another app's keys see nothing of this one.
  const other = (await api.appsApi.createApp({ displayName: 'Other' })).app.id;
  assert.deepEqual(await errorOf(api.conversationsApi.getConversation(other, conv.id)), convNotFound);
});

test('ListConversations: by userId or userExternalId, paged by afterCursor', async () => {
  const user = await newUser('lister');
  const ids = [];
  ids.push((await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation.id);
  ids.push((await api.conversationsApi.createConversation(appId, { type: 'sdkGroup', participants: [{ userId: user.id, subscribeSDKClient: false }] })).conversation.id);
  ids.push((await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userExternalId: 'lister' }] })).conversation.id);
  // Someone else's conversation is not listed.
  const stranger = await newUser('stranger');
  await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: stranger.id }] });

  const byId = await api.conversationsApi.listConversations(appId, Object.assign(new S.ConversationListFilter(), { userId: user.id }));
  assert.ok(byId instanceof S.ConversationListResponse);
  assert.deepEqual(new Set(byId.conversations.map((c) => c.id)), new Set(ids));
  assert.equal(byId.meta.hasMore, false);
  const byExternal = await api.conversationsApi.listConversations(appId, { userExternalId: 'lister' });
  assert.deepEqual(byExternal.conversations.map((c) => c.id), byId.conversations.map((c) => c.id));

  const page1 = await api.conversationsApi.listConversations(appId, { userId: user.id }, { page: { size: 2 } });
  assert.equal(page1.conversations.length, 2);
  assert.equal(page1.meta.hasMore, true);
  assert.match(page1.meta.afterCursor, hex24);
  assert.ok(page1.links.next);
  const page2 = await api.conversationsApi.listConversations(appId, { userId: user.id }, { page: { after: page1.meta.afterCursor } });
  assert.equal(page2.conversations.length, 1);
  assert.equal(page2.meta.hasMore, false);
  assert.deepEqual(new Set([...page1.conversations, ...page2.conversations].map((c) => c.id)), new Set(ids));
  // links.next is an absolute URL that a user can follow as is.
  const next = await http(page1.links.next, 'GET', '', { auth: basic(srv.keyId, srv.secret) });
  assert.equal(next.status, 200);
  assert.deepEqual(next.body.conversations.map((c) => c.id), page2.conversations.map((c) => c.id));
  assert.ok(page1.links.next.startsWith(srv.url + '/v2/apps/' + appId + '/conversations?'), page1.links.next);
  // And back: beforeCursor of the second page.
  assert.match(page2.meta.beforeCursor, hex24);
  const back = await api.conversationsApi.listConversations(appId, { userId: user.id }, { page: { before: page2.meta.beforeCursor } });
  assert.deepEqual(back.conversations.map((c) => c.id), page1.conversations.map((c) => c.id));

  // The filter is required (an empty one sends nothing); an unknown user is 404; bad cursors 400.
  const noFilter = await errorOf(api.conversationsApi.listConversations(appId, {}));
  assert.equal(noFilter.status, 400);
  assert.equal(noFilter.code, 'bad_request');
  assert.match(noFilter.title, /filter/);
  assert.deepEqual(await errorOf(api.conversationsApi.listConversations(appId, { userId: unknown })), { status: 404, code: 'user_not_found', title: 'User not found' });
  const invalidPage = { status: 400, code: 'bad_request', title: 'Invalid page query parameters' };
  for (const page of [{ after: 'x' }, { before: 'y'.repeat(25) }, { size: 0 }, { size: 101 }, { size: 'ten' }]) {
    assert.deepEqual(await errorOf(api.conversationsApi.listConversations(appId, { userId: user.id }, { page })), invalidPage, JSON.stringify(page));
  }
  assert.equal((await api.conversationsApi.listConversations(appId, { userId: user.id }, { page: { size: 100 } })).conversations.length, 3);
});

test('participants: join, list paged, leave by userId, userExternalId or participantId', async () => {
  const owner = await newUser('owner');
  const group = (await api.conversationsApi.createConversation(appId, {
    type: 'sdkGroup', displayName: 'Group', participants: [{ userId: owner.id, subscribeSDKClient: false }],
  })).conversation;
  assert.equal(group.type, 'sdkGroup');
  assert.equal(group.isDefault, false);

  const ann = await newUser('ann');
  const bob = await newUser('bob');
  const cat = await newUser('cat');
  const joinAnn = Object.assign(new S.ParticipantJoinBody(), { userId: ann.id, subscribeSDKClient: false });
  const { data, response } = await api.participantsApi.joinConversationWithHttpInfo(appId, group.id, joinAnn);
  assert.equal(response.status, 201);
  const pAnn = data.participant;
  assert.ok(pAnn instanceof S.Participant);
  assert.match(pAnn.id, hex24);
  assert.equal(pAnn.userId, ann.id);
  assert.equal(pAnn.userExternalId, 'ann');
  assert.equal(pAnn.unreadCount, 0);
  assert.deepEqual(pAnn.clientAssociations, []);

  const pBob = (await api.participantsApi.joinConversation(appId, group.id, { userExternalId: 'bob', subscribeSDKClient: false })).participant;
  assert.equal(pBob.userId, bob.id);
  const pCat = (await api.participantsApi.joinConversation(appId, group.id, { userId: cat.id, subscribeSDKClient: false })).participant;

  const all = await api.participantsApi.listParticipants(appId, group.id);
  assert.ok(all instanceof S.ParticipantListResponse);
  assert.equal(all.participants.length, 4);
  assert.deepEqual(new Set(all.participants.map((p) => p.userId)), new Set([owner.id, ann.id, bob.id, cat.id]));
  const page1 = await api.participantsApi.listParticipants(appId, group.id, { page: { size: 3 } });
  assert.equal(page1.participants.length, 3);
  assert.equal(page1.meta.hasMore, true);
  const page2 = await api.participantsApi.listParticipants(appId, group.id, { page: { after: page1.meta.afterCursor } });
  assert.equal(page2.participants.length, 1);
  assert.equal(page2.meta.hasMore, false);
  assert.deepEqual(new Set([...page1.participants, ...page2.participants].map((p) => p.id)), new Set(all.participants.map((p) => p.id)));

  // Leave, the three ways the body allows.
  assertEmpty(await api.participantsApi.leaveConversation(appId, group.id, Object.assign(new S.ParticipantLeaveBody(), { userId: ann.id })));
  assertEmpty(await api.participantsApi.leaveConversation(appId, group.id, { userExternalId: 'bob' }));
  assertEmpty(await api.participantsApi.leaveConversation(appId, group.id, { participantId: pCat.id }));
  assert.deepEqual((await api.participantsApi.listParticipants(appId, group.id)).participants.map((p) => p.userId), [owner.id]);
  const notMember = { status: 404, code: 'not_found', title: 'User is not a member of the conversation' };
  assert.deepEqual(await errorOf(api.participantsApi.leaveConversation(appId, group.id, { userId: ann.id })), notMember);
  assert.deepEqual(await errorOf(api.participantsApi.leaveConversation(appId, group.id, { participantId: pAnn.id })), notMember);

  // Errors.
  for (const call of [
    () => api.participantsApi.joinConversation(appId, unknown, { userId: ann.id, subscribeSDKClient: false }),
    () => api.participantsApi.listParticipants(appId, unknown),
  ]) assert.deepEqual(await errorOf(call()), convNotFound);
  assert.deepEqual(await errorOf(api.participantsApi.joinConversation(appId, group.id, { userId: unknown, subscribeSDKClient: false })),
    { status: 404, code: 'user_not_found', title: 'User not found' });
  const noUser = await errorOf(api.participantsApi.joinConversation(appId, group.id, { subscribeSDKClient: false }));
  assert.equal(noUser.status, 400);
  assert.match(noUser.title, /userId/);
});

test('participants: at most 10, and joining is for sdkGroup conversations', async () => {
  const users = [];
  for (let i = 0; i < 11; i++) users.push(await newUser(`member-${i}`));
  const group = (await api.conversationsApi.createConversation(appId, {
    type: 'sdkGroup', participants: users.slice(0, 10).map((u) => ({ userId: u.id, subscribeSDKClient: false })),
  })).conversation;
  assert.equal((await api.participantsApi.listParticipants(appId, group.id)).participants.length, 10);
  assert.deepEqual(await errorOf(api.participantsApi.joinConversation(appId, group.id, { userId: users[10].id, subscribeSDKClient: false })),
    { status: 400, code: 'bad_request', title: 'Too many participants' });
  const eleven = await errorOf(api.conversationsApi.createConversation(appId, {
    type: 'sdkGroup', participants: users.map((u) => ({ userId: u.id, subscribeSDKClient: false })),
  }));
  assert.equal(eleven.status, 400);
  assert.match(eleven.title, /participants/);

  const personal = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: users[0].id }] })).conversation;
  const join = await errorOf(api.participantsApi.joinConversation(appId, personal.id, { userId: users[1].id, subscribeSDKClient: false }));
  assert.equal(join.status, 400);
  assert.equal(join.code, 'bad_request');
});

test('JoinConversation with subscribeSDKClient:true associates the SDK client, made if the user has none', async () => {
  const group = (await api.conversationsApi.createConversation(appId, { type: 'sdkGroup' })).conversation;
  const dee = await newUser('dee');
  const deeSdk = (await inbound(srv, appId, { channel: 'sdk', user: { id: dee.id } })).client;
  const pDee = (await api.participantsApi.joinConversation(appId, group.id, { userId: dee.id, subscribeSDKClient: true })).participant;
  assert.deepEqual(pDee.clientAssociations.map((a) => ({ ...a })), [{ type: 'sdk', clientId: deeSdk.id }]);

  // The spec: "An SDK client will be created for users that don't already have one."
  const eve = await newUser('eve');
  const pEve = (await api.participantsApi.joinConversation(appId, group.id, { userExternalId: 'eve', subscribeSDKClient: true })).participant;
  const clients = (await api.clientsApi.listClients(appId, eve.id)).clients;
  assert.deepEqual(clients.map((c) => c.type), ['sdk']);
  assert.deepEqual(pEve.clientAssociations.map((a) => ({ ...a })), [{ type: 'sdk', clientId: clients[0].id }]);
});

test('a participant lists the client its user writes through', async () => {
  const r = await inbound(srv, appId, { channel: 'whatsapp', client: { externalId: '+15145550111' }, content: { type: 'text', text: 'hi' } });
  const { participants } = await api.participantsApi.listParticipants(appId, r.conversation.id);
  assert.equal(participants.length, 1);
  assert.equal(participants[0].userId, r.user.id);
  assert.deepEqual(participants[0].clientAssociations.map((a) => ({ ...a })), [{ type: 'whatsapp', clientId: r.client.id }]);
});
