// Messages with every content type and every action type, and Activities (issue 4), through the
// official client. Each message is checked twice: on the wire (the complete JSON), and as the typed
// result the client gives its user, whose allow-list drops some fields (noted where it does).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, SunshineConversationsClient as S } from '../lib/server.mjs';
import { errorOf, assertEmpty } from '../lib/helpers.mjs';

const hex24 = /^[0-9a-f]{24}$/;
const timestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const unknown = '5e8b49d936c1df272e8e1460';
const gravatar = 'https://www.gravatar.com/avatar/00000000000000000000000000000000.png?s=200&d=mm';
const convNotFound = { status: 404, code: 'conversation_not_found', title: 'Conversation not found' };

let srv, api, appId, user, conv;
before(async () => {
  srv = await startServer();
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  appId = (await api.appsApi.createApp({ displayName: 'Messages' })).app.id;
  const body = new S.UserCreateBody('mia');
  body.profile = { givenName: 'Mia', surname: 'Sender', avatarUrl: 'https://example.org/mia.png' };
  user = (await api.usersApi.createUser(appId, body)).user;
  conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
});
after(async () => { await srv?.stop(); });

// post sends messagePost to the shared conversation and returns {typed, wire}: the client's Message
// and the JSON the server sent, after checking the 201 and what every message has.
async function post(messagePost, conversationId = conv.id) {
  const { data, response } = await api.messagesApi.postMessageWithHttpInfo(appId, conversationId, messagePost);
  assert.equal(response.status, 201);
  assert.ok(data instanceof S.MessagePostResponse);
  assert.equal(data.messages.length, 1);
  assert.equal(response.body.messages.length, 1);
  const typed = data.messages[0];
  const wire = response.body.messages[0];
  assert.ok(typed instanceof S.Message);
  assert.match(typed.id, hex24);
  assert.match(typed.received, timestamp);
  assert.deepEqual(wire.source, { type: 'api:conversations' });
  return { typed, wire };
}

// plain turns client model instances into plain JSON values, for deepEqual against the wire.
const plain = (x) => JSON.parse(JSON.stringify(x));

const business = () => Object.assign(new S.Author('business'), { displayName: 'Acme Bot', avatarUrl: 'https://example.org/bot.png' });

test('text with every action type: buy, link, locationRequest, postback, reply, webview', async () => {
  const buy = Object.assign(new S.Buy('buy', 'Buy now', 1999), { currency: 'usd', metadata: { sku: 'A1' } });
  const link = Object.assign(new S.Link('link', 'https://example.org/more', 'More'), {
    default: true, extraChannelOptions: { messenger: { messenger_extensions: true, webview_share_button: 'hide' } },
  });
  const locationRequest = new S.LocationRequest('locationRequest', 'Share your location');
  const postback = Object.assign(new S.Postback('postback', 'Yes', 'YES'), { metadata: { step: 1 } });
  const reply = Object.assign(new S.Reply('reply', 'Maybe', 'MAYBE'), { iconUrl: 'https://example.org/maybe.png' });
  const webview = Object.assign(new S.Webview('webview', 'https://example.org/form', 'Open form', 'https://example.org/fallback'), {
    size: 'tall', openOnReceive: false, default: false,
  });
  const content = Object.assign(new S.TextMessage('text'), {
    text: 'Pick one', blockChatInput: true, actions: [buy, link, locationRequest, postback, reply, webview],
  });
  const body = new S.MessagePost(business(), content);
  body.metadata = { campaign: 'spring', n: 1, ok: true };

  const { typed, wire } = await post(body);
  assert.deepEqual(wire.content, plain(content), 'the content comes back as sent');
  assert.deepEqual(wire.author, { type: 'business', displayName: 'Acme Bot', avatarUrl: 'https://example.org/bot.png' });
  assert.deepEqual(wire.metadata, { campaign: 'spring', n: 1, ok: true });
  assert.ok(!('userId' in wire.author), 'a business author has no userId');

  assert.ok(typed.content instanceof S.Content);
  assert.equal(typed.content.type, 'text');
  assert.equal(typed.content.text, 'Pick one');
  assert.equal(typed.content.blockChatInput, true);
  assert.deepEqual(typed.content.actions.map((a) => a.type), ['buy', 'link', 'locationRequest', 'postback', 'reply', 'webview']);
  assert.ok(typed.content.actions.every((a) => a instanceof S.ActionSubset));
  const [tBuy, tLink, , tPostback, tReply, tWebview] = typed.content.actions;
  assert.equal(tBuy.amount, 1999);
  assert.equal(tBuy.currency, 'usd');
  assert.deepEqual(tBuy.metadata, { sku: 'A1' });
  assert.equal(tLink.uri, 'https://example.org/more');
  assert.equal(tLink.default, true);
  assert.deepEqual(plain(tLink.extraChannelOptions), { messenger: { messenger_extensions: true, webview_share_button: 'hide' } });
  assert.equal(tPostback.payload, 'YES');
  assert.equal(tReply.payload, 'MAYBE');
  // Content.actions is typed ActionSubset: the client drops reply.iconUrl (the wire has it).
  assert.equal(tReply.iconUrl, undefined);
  assert.equal(wire.content.actions[4].iconUrl, 'https://example.org/maybe.png');
  assert.equal(tWebview.fallback, 'https://example.org/fallback');
  assert.equal(tWebview.size, 'tall');
  assert.equal(tWebview.openOnReceive, false);
  assert.deepEqual(typed.metadata, { campaign: 'spring', n: 1, ok: true });
  // The conversation's lastUpdatedAt is the time of its last message.
  assert.equal((await api.conversationsApi.getConversation(appId, conv.id)).conversation.lastUpdatedAt, typed.received);
  assert.equal(typed.author.avatarUrl, 'https://example.org/bot.png');
  assert.equal(typed.source.type, 'api:conversations');
});

test('user authors: by userId or userExternalId, named from the profile; htmlText and markdownText', async () => {
  const a = Object.assign(new S.Author('user'), { userId: user.id });
  const html = Object.assign(new S.TextMessage('text'), { text: 'Hello', htmlText: '<p>Hello <b>there</b></p>' });
  const { typed, wire } = await post(new S.MessagePost(a, html));
  assert.deepEqual(wire.author, { type: 'user', userId: user.id, displayName: 'Mia Sender', avatarUrl: 'https://example.org/mia.png' });
  assert.deepEqual(wire.content, { type: 'text', text: 'Hello', htmlText: '<p>Hello <b>there</b></p>' });
  // The client's Content has no htmlText: its users never see it.
  assert.equal(typed.content.htmlText, undefined);
  assert.equal(typed.author.userId, user.id);
  assert.equal(typed.author.displayName, 'Mia Sender');

  // userExternalId is writeOnly: it finds the user, and is not echoed.
  const byExternal = Object.assign(new S.Author('user'), { userExternalId: 'mia' });
  const md = await post(new S.MessagePost(byExternal, { type: 'text', markdownText: '**Bold** move' }));
  assert.equal(md.wire.author.userId, user.id);
  assert.ok(!('userExternalId' in md.wire.author));
  // markdownText is writeOnly: it becomes htmlText, and the plain text is derived from it.
  assert.ok(!('markdownText' in md.wire.content));
  assert.match(md.wire.content.htmlText, /<strong>Bold<\/strong> move/);
  assert.equal(md.wire.content.text, 'Bold move');
  assert.equal(md.typed.content.text, 'Bold move');

  // AI subtype on a business author is kept.
  const references = [{ uri: 'https://example.org/kb/1', title: 'Returns', description: 'How to return an order' }, { uri: 'https://example.org/kb/2' }];
  const ai = await post({ author: { type: 'business', subtypes: ['AI'] }, content: { type: 'text', text: 'I am a bot' }, references });
  assert.deepEqual(ai.wire.author, { type: 'business', subtypes: ['AI'], avatarUrl: gravatar });
  assert.deepEqual(ai.typed.author.subtypes, ['AI']);
  // The client's Message has no references (allow-list); the wire keeps them.
  assert.deepEqual(ai.wire.references, references);
  assert.equal(ai.typed.references, undefined);
});

test('image and file', async () => {
  const image = Object.assign(new S.ImageMessage('image', 'https://example.org/photos/cat.jpg'), {
    text: 'A cat', altText: 'A grey cat', actions: [new S.Postback('postback', 'Like', 'LIKE')], blockChatInput: false,
  });
  const img = await post(new S.MessagePost(new S.Author('business'), image));
  assert.deepEqual(img.wire.content, plain(image));
  assert.equal(img.wire.author.avatarUrl, gravatar, 'the service gives business authors a default avatar');
  assert.equal(img.typed.content.mediaUrl, 'https://example.org/photos/cat.jpg');
  assert.equal(img.typed.content.altText, 'A grey cat');
  assert.equal(img.typed.content.actions[0].payload, 'LIKE');

  const file = new S.FileMessage('file', 'https://example.org/docs/report%202024.pdf');
  const f = await post(new S.MessagePost(new S.Author('business'), file));
  // altText defaults to the file name (decoded from the URL).
  assert.deepEqual(f.wire.content, { type: 'file', mediaUrl: 'https://example.org/docs/report%202024.pdf', altText: 'report 2024.pdf' });
  assert.equal(f.typed.content.type, 'file');
  assert.equal(f.typed.content.mediaUrl, 'https://example.org/docs/report%202024.pdf');
});

test('carousel and list, with their fallback text', async () => {
  const tacos = Object.assign(new S.Item('Tacos', [
    new S.Link('link', 'https://example.org/tacos', 'More info'),
    Object.assign(new S.Postback('postback', 'Order', 'ORDER_TACOS'), { metadata: { qty: 2 } }),
  ]), { description: 'Get your tacos today!', mediaUrl: 'https://example.org/tacos.jpg', altText: 'Tacos', size: 'large', metadata: { id: 't' } });
  const ramen = new S.Item('Ramen', [
    new S.Buy('buy', 'Buy', 1200),
    new S.Webview('webview', 'https://example.org/ramen', 'Menu', 'https://example.org/ramen-fb'),
  ]);
  const carousel = Object.assign(new S.CarouselMessage('carousel', [tacos, ramen]), { displaySettings: { imageAspectRatio: 'square' } });
  const c = await post(new S.MessagePost(new S.Author('business'), carousel));
  const fallback = '1. Tacos\nGet your tacos today!\nMore info: https://example.org/tacos\n\n2. Ramen\nMenu: https://example.org/ramen';
  assert.deepEqual(c.wire.content, { ...plain(carousel), text: fallback });
  assert.equal(c.typed.content.text, fallback);
  assert.equal(c.typed.content.items.length, 2);
  assert.ok(c.typed.content.items.every((i) => i instanceof S.Item));
  assert.equal(c.typed.content.items[0].description, 'Get your tacos today!');
  assert.equal(c.typed.content.items[1].actions[0].amount, 1200);
  assert.equal(c.typed.content.displaySettings.imageAspectRatio, 'square');

  const list = Object.assign(new S.ListMessage('list', [tacos, ramen]), {
    actions: [new S.Postback('postback', 'More', 'MORE')], blockChatInput: true,
  });
  const l = await post(new S.MessagePost(new S.Author('business'), list));
  assert.deepEqual(l.wire.content, { ...plain(list), text: fallback });
  assert.equal(l.typed.content.actions[0].payload, 'MORE');
  assert.equal(l.typed.content.items[0].title, 'Tacos');

  // A list takes only ActionSubset actions; a reply there is refused, naming the field.
  const bad = await errorOf(api.messagesApi.postMessage(appId, conv.id, {
    author: { type: 'business' }, content: { type: 'carousel', items: [{ title: 'X', actions: [{ type: 'reply', text: 'r', payload: 'p' }] }] },
  }));
  assert.equal(bad.status, 400);
  assert.match(bad.title, /content\.items\[0\]\.actions\[0\]\.type/);
});

test('location, form and template', async () => {
  const location = Object.assign(new S.LocationMessage('location', new S.LocationMessageCoordinates(45.5261583, -73.595346)), {
    location: { address: '5333 Avenue Casgrain', name: 'Zendesk Montreal' },
  });
  const loc = await post(new S.MessagePost(new S.Author('business'), location));
  const locFallback = 'Location shared:\nhttps://maps.google.com/maps?q=45.5261583,-73.595346';
  assert.deepEqual(loc.wire.content, { ...plain(location), text: locFallback });
  assert.equal(loc.typed.content.coordinates.lat, 45.5261583);
  assert.equal(loc.typed.content.coordinates.long, -73.595346);
  assert.equal(loc.typed.content.location.name, 'Zendesk Montreal');
  assert.equal(loc.typed.content.text, locFallback);

  const fields = [
    Object.assign(new S.FormMessageField('text', 'name', 'Your name'), { placeholder: 'Jane', minSize: 1, maxSize: 64 }),
    Object.assign(new S.FormMessageField('email', 'email', 'Your email'), { placeholder: 'jane@example.org' }),
    Object.assign(new S.FormMessageField('select', 'meal', 'Meal'), { options: [{ label: 'Tacos', name: 'tacos' }, { label: 'Ramen', name: 'ramen' }] }),
  ];
  const form = Object.assign(new S.FormMessage('form', fields), { blockChatInput: true, text: 'Tell us about you' });
  const fm = await post(new S.MessagePost(new S.Author('business'), form));
  assert.deepEqual(fm.wire.content, { ...plain(form), submitted: false });
  assert.equal(fm.typed.content.submitted, false);
  assert.deepEqual(fm.typed.content.fields.map((x) => [x.type, x.name, x.label]), [['text', 'name', 'Your name'], ['email', 'email', 'Your email'], ['select', 'meal', 'Meal']]);
  // Content.fields is typed FormResponseMessageField: placeholder, minSize, maxSize and options are dropped.
  assert.equal(fm.typed.content.fields[0].placeholder, undefined);
  assert.equal(fm.typed.content.fields[2].options, undefined);
  assert.equal(fm.wire.content.fields[2].options.length, 2);

  const template = { name: 'hsm_greeting', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Mia' }] }] };
  const body = new S.MessagePost(new S.Author('business'), new S.TemplateMessage('template', template));
  body.schema = 'whatsapp';
  const t = await post(body);
  assert.deepEqual(t.wire.content, { type: 'template', template });
  assert.deepEqual(t.typed.content.template, template);
  // Without schema whatsapp a template is refused.
  const noSchema = await errorOf(api.messagesApi.postMessage(appId, conv.id, { author: { type: 'business' }, content: { type: 'template', template } }));
  assert.equal(noSchema.status, 400);
  assert.match(noSchema.title, /schema/);

  // formResponse cannot be sent through the API.
  const fr = await errorOf(api.messagesApi.postMessage(appId, conv.id, {
    author: { type: 'user', userId: user.id }, content: { type: 'formResponse', fields: [{ type: 'text', name: 'name', label: 'Name', text: 'Mia' }] },
  }));
  assert.equal(fr.status, 400);
  assert.match(fr.title, /formResponse/);
});

test('PostMessage refusals name the field; unknown conversation and user are 404', async () => {
  const biz = { type: 'business' };
  const cases = [
    [{ content: { type: 'text', text: 'x' } }, /author/],
    [{ author: biz }, /content/],
    [{ author: { type: 'bot' }, content: { type: 'text', text: 'x' } }, /author\.type/],
    [{ author: biz, content: { type: 'video' } }, /content\.type/],
    [{ author: biz, content: { type: 'text' } }, /text/],
    [{ author: biz, content: { type: 'text', text: 'x'.repeat(4097) } }, /text/],
    [{ author: biz, content: { type: 'image' } }, /mediaUrl/],
    [{ author: biz, content: { type: 'text', text: 'x', actions: [{ type: 'link', text: 'l' }] } }, /actions\[0\]/],
    [{ author: biz, content: { type: 'text', text: 'x', actions: [{ type: 'buy', text: 'b' }] } }, /amount/],
    [{ author: biz, content: { type: 'carousel', items: [] } }, /items/],
    [{ author: biz, content: { type: 'location', coordinates: { lat: 1 } } }, /long/],
    [{ author: biz, content: { type: 'form', fields: [] } }, /fields/],
    [{ author: biz, content: { type: 'text', text: 'x' }, metadata: { deep: { no: 1 } } }, /metadata/],
    [{ author: { type: 'user' }, content: { type: 'text', text: 'x' } }, /userId/],
    [{ author: { type: 'user', userId: user.id }, content: { type: 'text', text: 'x' }, destination: { integrationType: 'none' } }, /destination/],
  ];
  for (const [body, field] of cases) {
    const e = await errorOf(api.messagesApi.postMessage(appId, conv.id, body));
    assert.equal(e.status, 400, JSON.stringify(body).slice(0, 200));
    assert.equal(e.code, 'bad_request');
    assert.match(e.title, field, JSON.stringify(body).slice(0, 200));
  }
  assert.deepEqual(await errorOf(api.messagesApi.postMessage(appId, unknown, { author: biz, content: { type: 'text', text: 'x' } })), convNotFound);
  assert.deepEqual(await errorOf(api.messagesApi.postMessage(appId, conv.id, { author: { type: 'user', userId: unknown }, content: { type: 'text', text: 'x' } })),
    { status: 404, code: 'user_not_found', title: 'User not found' });
  // A business message with a destination or channel overrides is accepted (Sunlamp reaches no
  // channel); neither is part of the message.
  const silent = await post({ author: biz, content: { type: 'text', text: 'silent' }, destination: { integrationType: 'none' } });
  assert.ok(!('destination' in silent.wire));
  const override = new S.MessageOverride();
  override.messenger = { payload: { message: { text: 'Messenger-only text' } } };
  const overridden = await post(Object.assign(new S.MessagePost(new S.Author('business'), { type: 'text', text: 'default text' }), { override }));
  assert.deepEqual(overridden.wire.content, { type: 'text', text: 'default text' });
  assert.ok(!('override' in overridden.wire));
});

test('ListMessages: the most recent 100, back by beforeCursor, forward again by afterCursor', async () => {
  const c = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  const ids = [];
  for (let i = 0; i < 105; i++) {
    const author = i % 2 ? { type: 'user', userId: user.id } : { type: 'business' };
    ids.push((await api.messagesApi.postMessage(appId, c.id, { author, content: { type: 'text', text: `m${i}` } })).messages[0].id);
  }
  const latest = await api.messagesApi.listMessages(appId, c.id);
  assert.ok(latest instanceof S.MessageListResponse);
  assert.deepEqual(latest.messages.map((m) => m.id), ids.slice(5), 'the last page, oldest first');
  assert.equal(latest.meta.hasMore, true);
  assert.match(latest.meta.beforeCursor, hex24);
  assert.ok(latest.links.prev);
  assert.equal(latest.meta.afterCursor, undefined);
  // page[size] has no effect on ListMessages.
  assert.equal((await api.messagesApi.listMessages(appId, c.id, { page: { size: 10 } })).messages.length, 100);

  const older = await api.messagesApi.listMessages(appId, c.id, { page: { before: latest.meta.beforeCursor } });
  assert.deepEqual(older.messages.map((m) => m.content.text), ['m0', 'm1', 'm2', 'm3', 'm4']);
  assert.equal(older.meta.hasMore, false);
  assert.match(older.meta.afterCursor, hex24);
  const newer = await api.messagesApi.listMessages(appId, c.id, { page: { after: older.meta.afterCursor } });
  assert.deepEqual(newer.messages.map((m) => m.id), ids.slice(5));

  const bad = await errorOf(api.messagesApi.listMessages(appId, c.id, { page: { before: 'nope' } }));
  assert.deepEqual(bad, { status: 400, code: 'bad_request', title: 'Invalid page query parameters' });
  // The spec's ListMessages 404 is not_found "Resource not found".
  assert.deepEqual(await errorOf(api.messagesApi.listMessages(appId, unknown)), { status: 404, code: 'not_found', title: 'Resource not found' });
});

test('DeleteMessage and DeleteAllMessages', async () => {
  const c = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  const ids = [];
  for (const text of ['one', 'two', 'three']) {
    ids.push((await api.messagesApi.postMessage(appId, c.id, { author: { type: 'business' }, content: { type: 'text', text } })).messages[0].id);
  }
  assertEmpty(await api.messagesApi.deleteMessage(appId, c.id, ids[1]));
  const left = (await api.messagesApi.listMessages(appId, c.id)).messages;
  assert.deepEqual(left.map((m) => m.content.text), ['one', 'three']);
  // The spec documents only conversation_not_found for DeleteMessage.
  assert.deepEqual(await errorOf(api.messagesApi.deleteMessage(appId, c.id, ids[1])), convNotFound);
  assert.deepEqual(await errorOf(api.messagesApi.deleteMessage(appId, unknown, ids[0])), convNotFound);
  // A message is reached through its own conversation only.
  assert.deepEqual(await errorOf(api.messagesApi.deleteMessage(appId, conv.id, ids[0])), convNotFound);

  assertEmpty(await api.messagesApi.deleteAllMessages(appId, c.id));
  const none = await api.messagesApi.listMessages(appId, c.id);
  assert.deepEqual(none.messages, []);
  assert.equal(none.meta.hasMore, false);
  assert.deepEqual(await errorOf(api.messagesApi.deleteAllMessages(appId, unknown)), convNotFound);
  // The conversation is still there, and takes new messages.
  await post({ author: { type: 'business' }, content: { type: 'text', text: 'again' } }, c.id);
});

test('activities: read receipts move lastRead, unreadCount and businessLastRead; typing', async () => {
  const c = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  for (const text of ['a', 'b']) await api.messagesApi.postMessage(appId, c.id, { author: { type: 'business' }, content: { type: 'text', text } });
  let [p] = (await api.participantsApi.listParticipants(appId, c.id)).participants;
  assert.equal(p.unreadCount, 2);
  assert.equal(p.lastRead, undefined);

  const read = new S.ActivityPost(Object.assign(new S.Author('user'), { userId: user.id }), 'conversation:read');
  assertEmpty(await api.activitiesApi.postActivity(appId, c.id, read));
  [p] = (await api.participantsApi.listParticipants(appId, c.id)).participants;
  assert.equal(p.unreadCount, 0);
  assert.match(p.lastRead, timestamp);

  assert.equal((await api.conversationsApi.getConversation(appId, c.id)).conversation.businessLastRead, undefined);
  assertEmpty(await api.activitiesApi.postActivity(appId, c.id, new S.ActivityPost(new S.Author('business'), 'conversation:read')));
  assert.match((await api.conversationsApi.getConversation(appId, c.id)).conversation.businessLastRead, timestamp);
  for (const type of ['typing:start', 'typing:stop']) {
    assertEmpty(await api.activitiesApi.postActivity(appId, c.id, { author: { type: 'business', displayName: 'Agent' }, type }));
  }

  // A user author may only send conversation:read.
  const typing = await errorOf(api.activitiesApi.postActivity(appId, c.id, { author: { type: 'user', userId: user.id }, type: 'typing:start' }));
  assert.equal(typing.status, 400);
  assert.match(typing.title, /type/);
  const badType = await errorOf(api.activitiesApi.postActivity(appId, c.id, { author: { type: 'business' }, type: 'conversation:typing' }));
  assert.equal(badType.status, 400);
  assert.match(badType.title, /type/);
  const noAuthor = await errorOf(api.activitiesApi.postActivity(appId, c.id, { type: 'typing:start' }));
  assert.equal(noAuthor.status, 400);
  assert.match(noAuthor.title, /author/);
  assert.deepEqual(await errorOf(api.activitiesApi.postActivity(appId, unknown, { author: { type: 'business' }, type: 'typing:start' })), convNotFound);
});
