// Integrations and Custom Integration API Keys (issue 5) through the official client, including the
// integration scope: a custom integration's key over Basic and as a JWT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, SunshineConversationsClient as S } from '../lib/server.mjs';
import { errorOf, assertEmpty, jwt } from '../lib/helpers.mjs';

const hex24 = /^[0-9a-f]{24}$/;
const unknown = '5e8b49d936c1df272e8e1460';
const integrationNotFound = { status: 404, code: 'integration_not_found', title: 'Integration not found' };

let srv, api, appId;
before(async () => {
  srv = await startServer();
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  appId = (await api.appsApi.createApp({ displayName: 'Integrations' })).app.id;
});
after(async () => { await srv?.stop(); });

// create posts an integration and returns {typed, wire}: the client's Integration and the JSON sent.
async function create(body, app = appId) {
  const { data, response } = await api.integrationsApi.createIntegrationWithHttpInfo(app, body);
  assert.equal(response.status, 201);
  const typed = data.integration;
  const wire = response.body.integration;
  assert.ok(typed instanceof S.Integration);
  assert.match(typed.id, hex24);
  assert.equal(typed.type, body.type);
  assert.equal(typed.status, 'active');
  return { typed, wire };
}

const custom = (target = 'https://example.org/hook') => Object.assign(
  new S.Custom('custom', [Object.assign(new S.Webhook(target, ['conversation:message']), { includeFullUser: true })]),
  { displayName: 'My bot' },
);

test('every channel type: created active, writeOnly secrets never returned, defaults filled in', async () => {
  const pem = '-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n';
  // [body, writeOnly fields that must not come back, fields that must]
  const cases = [
    [Object.assign(new S.Android('android'), { projectId: 'p-1', clientEmail: 'fcm@example.iam.gserviceaccount.com', privateKey: pem }), ['projectId', 'clientEmail', 'privateKey'], {}],
    [new S.Apple('apple', 'biz-1', 'apple-secret', 'msp-1'), ['apiSecret'], { businessId: 'biz-1', mspId: 'msp-1' }],
    [new S.Instagram('instagram', 'ig-token', 'ig-app', 'ig-secret'), ['pageAccessToken', 'appSecret'], { appId: 'ig-app', storyRepliesEnabled: true, storyMentionsEnabled: true }],
    [Object.assign(new S.Ios('ios'), { certificate: 'cert-b64', password: 'pw', production: false }), ['certificate', 'password'], { production: false }],
    [Object.assign(new S.Line('line'), { channelId: '1234', channelSecret: 'line-secret', channelAccessToken: 'line-token' }), ['channelSecret', 'channelAccessToken'], { channelId: '1234' }],
    [new S.Mailgun('mailgun', 'key-123', 'mg.example.org', 'support@mg.example.org'), ['apiKey'], { domain: 'mg.example.org', incomingAddress: 'support@mg.example.org' }],
    [new S.Messagebird('messagebird', 'mb-access', 'mb-signing', '+15145550100'), ['accessKey', 'signingKey'], { originator: '+15145550100' }],
    [Object.assign(new S.Messenger('messenger', 'fb-token', 'fb-app', 'fb-secret'), { pageId: '1234567890' }), ['appSecret'], { appId: 'fb-app' }],
    [new S.Telegram('telegram', 'tg-token'), ['token'], {}],
    [Object.assign(new S.Twilio('twilio', 'AC123', 'tw-token'), { phoneNumberSid: 'PN123' }), ['authToken'], { accountSid: 'AC123', phoneNumberSid: 'PN123' }],
    [new S.Twitter('twitter', 'enterprise', 'ck', 'cs', 'atk', 'ats'), ['consumerKey', 'consumerSecret', 'accessTokenKey', 'accessTokenSecret'], { tier: 'enterprise' }],
    [new S.Unity('unity'), [], {}],
    [new S.Viber('viber', 'vb-token'), ['token'], {}],
    [Object.assign(new S.Web('web'), { displayName: 'Web Messenger', businessName: 'Acme' }), [],
      { brandColor: '65758e', conversationColor: '0099ff', actionColor: '0099ff', displayStyle: 'button', buttonWidth: '58', buttonHeight: '58', fixedIntroPane: false, businessName: 'Acme' }],
    // The client's Whatsapp model (spec 14.1.0) requires a deploymentId the newer spec dropped: sent, ignored.
    [Object.assign(new S.Whatsapp('whatsapp', 'dep-1'), { accountManagementAccessToken: 'wa-token' }), ['accountManagementAccessToken'], { hsmFallbackLanguage: 'en_US' }],
  ];
  for (const [body, hidden, shown] of cases) {
    const { typed, wire } = await create(body);
    for (const f of hidden) assert.ok(!(f in wire), `${body.type}: writeOnly ${f} returned`);
    for (const [k, v] of Object.entries(shown)) assert.deepEqual(wire[k], v, `${body.type}.${k}`);
    assert.equal(wire.showAIDisclaimer, true, `${body.type}: showAIDisclaimer defaults to true`);
    if (body.displayName) assert.equal(typed.displayName, body.displayName);
    const got = await api.integrationsApi.getIntegrationWithHttpInfo(appId, typed.id);
    assert.deepEqual(got.response.body.integration, wire, `${body.type}: GetIntegration answers what CreateIntegration did`);
    // The client's Integration keeps only id, type, status and displayName.
    assert.deepEqual(Object.keys(got.data.integration).sort(), Object.keys({ id: 1, type: 1, status: 1, ...(body.displayName ? { displayName: 1 } : {}) }).sort());
  }
  // messagebird gets a generated webhookSecret (readOnly).
  const mb = (await api.integrationsApi.listIntegrationsWithHttpInfo(appId, { filter: { types: 'messagebird' } })).response.body.integrations;
  assert.equal(mb.length, 1);
  assert.ok(typeof mb[0].webhookSecret === 'string' && mb[0].webhookSecret.length > 0);
});

test('custom: created with its one webhook (secret and version), which the typed result drops', async () => {
  const { typed, wire } = await create(custom());
  assert.equal(typed.displayName, 'My bot');
  assert.equal(typed.webhooks, undefined, "the client's Integration has no webhooks");
  assert.equal(wire.webhooks.length, 1);
  const [hook] = wire.webhooks;
  assert.match(hook.id, hex24);
  assert.equal(hook.version, 'v2');
  assert.equal(hook.target, 'https://example.org/hook');
  assert.deepEqual(hook.triggers, ['conversation:message']);
  assert.equal(hook.includeFullUser, true);
  assert.equal(hook.includeFullSource, false);
  assert.ok(hook.secret.length >= 24);
  assert.ok(!('showAIDisclaimer' in wire), 'custom has none of the channel base fields');
  // The webhook is one of the integration's webhooks (the Webhooks operations take app or
  // integration scope; the spec does not list account scope for them).
  const { key } = await api.appKeysApi.createAppKey(appId, new S.AppKeyCreateBody('webhooks'));
  const appApi = apis(client(srv.url, { username: key.id, password: key.secret }));
  const hooks = (await appApi.webhooksApi.listWebhooks(appId, typed.id)).webhooks;
  assert.deepEqual(hooks.map((h) => h.id), [hook.id]);

  for (const [body, title] of [
    [{ type: 'custom' }, /webhooks/],
    [{ type: 'custom', webhooks: [] }, /webhooks/],
    [{ type: 'custom', webhooks: [{ target: 'https://a.example.org' }] }, /triggers/],
    [{ type: 'custom', webhooks: [{ target: 'https://a.example.org', triggers: ['a'] }, { target: 'https://b.example.org', triggers: ['a'] }] }, /webhooks/],
  ]) {
    const e = await errorOf(api.integrationsApi.createIntegration(appId, body));
    assert.equal(e.status, 400, JSON.stringify(body));
    assert.equal(e.code, 'bad_request');
    assert.match(e.title, title);
  }
});

test('CreateIntegration refusals', async () => {
  assert.deepEqual(await errorOf(api.integrationsApi.createIntegration(appId, { type: 'fax' })), { status: 400, code: 'bad_request', title: 'Invalid integration type' });
  for (const [body, field] of [
    [{ type: 'telegram' }, /token/],
    [{ type: 'mailgun', apiKey: 'k', domain: 'mg.example.org' }, /incomingAddress/],
    [{ type: 'twilio', accountSid: 'AC1', authToken: 't' }, /phoneNumberSid|messagingServiceSid/],
    [{ type: 'web', displayStyle: 'popup' }, /displayStyle/],
    [{ type: 'web', displayName: 'x'.repeat(101) }, /displayName/],
  ]) {
    const e = await errorOf(api.integrationsApi.createIntegration(appId, body));
    assert.equal(e.status, 400, JSON.stringify(body));
    assert.equal(e.code, 'bad_request');
    assert.match(e.title, field);
  }
  assert.deepEqual(await errorOf(api.integrationsApi.createIntegration(unknown, { type: 'web' })), { status: 404, code: 'app_not_found', title: 'App not found' });
});

test('ListIntegrations: filter[types], paged by afterCursor', async () => {
  const app = (await api.appsApi.createApp({ displayName: 'List' })).app.id;
  const web = (await create(new S.Web('web'), app)).typed;
  const bot = (await create(custom(), app)).typed;
  const tg = (await create(new S.Telegram('telegram', 't'), app)).typed;

  const all = await api.integrationsApi.listIntegrations(app);
  assert.ok(all instanceof S.IntegrationListResponse);
  assert.deepEqual(new Set(all.integrations.map((i) => i.id)), new Set([web.id, bot.id, tg.id]));
  assert.equal(all.meta.hasMore, false);

  const filter = Object.assign(new S.IntegrationListFilter(), { types: 'custom,web' });
  const some = await api.integrationsApi.listIntegrations(app, { filter });
  assert.deepEqual(new Set(some.integrations.map((i) => i.id)), new Set([web.id, bot.id]));
  assert.deepEqual((await api.integrationsApi.listIntegrations(app, { filter: { types: 'android' } })).integrations, []);
  assert.deepEqual(await errorOf(api.integrationsApi.listIntegrations(app, { filter: { types: 'custom,fax' } })),
    { status: 400, code: 'bad_request', title: 'Invalid query parameters' });

  const page1 = await api.integrationsApi.listIntegrations(app, { page: { size: 2 } });
  assert.equal(page1.integrations.length, 2);
  assert.equal(page1.meta.hasMore, true);
  assert.match(page1.meta.afterCursor, hex24);
  assert.ok(page1.links.next);
  const page2 = await api.integrationsApi.listIntegrations(app, { page: { after: page1.meta.afterCursor } });
  assert.equal(page2.integrations.length, 1);
  assert.equal(page2.meta.hasMore, false);
  assert.deepEqual(new Set([...page1.integrations, ...page2.integrations].map((i) => i.id)), new Set([web.id, bot.id, tg.id]));
});

test('UpdateIntegration and DeleteIntegration', async () => {
  const web = (await create(Object.assign(new S.Web('web'), { displayName: 'Web' }))).typed;
  const update = Object.assign(new S.WebUpdate(), { displayName: 'Web 2', brandColor: '112233', originWhitelist: ['https://acme.example.org'] });
  const { data, response } = await api.integrationsApi.updateIntegrationWithHttpInfo(appId, web.id, update);
  assert.equal(data.integration.displayName, 'Web 2');
  assert.equal(response.body.integration.brandColor, '112233');
  assert.deepEqual(response.body.integration.originWhitelist, ['https://acme.example.org']);
  assert.equal(response.body.integration.conversationColor, '0099ff', 'untouched fields are kept');
  // null unsets displayName.
  const unset = await api.integrationsApi.updateIntegrationWithHttpInfo(appId, web.id, { displayName: null });
  assert.equal(unset.data.integration.displayName, undefined);
  assert.ok(!('displayName' in unset.response.body.integration));
  assert.equal(unset.response.body.integration.brandColor, '112233');

  const tg = (await create(new S.Telegram('telegram', 'old-token'))).typed;
  const tgUpdated = await api.integrationsApi.updateIntegrationWithHttpInfo(appId, tg.id, { displayName: 'TG', showAIDisclaimer: false });
  assert.equal(tgUpdated.response.body.integration.showAIDisclaimer, false);
  assert.ok(!('token' in tgUpdated.response.body.integration));

  // custom: only displayName can change; the type never.
  const bot = (await create(custom())).typed;
  assert.equal((await api.integrationsApi.updateIntegration(appId, bot.id, Object.assign(new S.CustomUpdate(), { displayName: 'Renamed bot' }))).integration.displayName, 'Renamed bot');
  for (const [id, body, field] of [[bot.id, { type: 'web' }, /type/], [tg.id, { token: 'new' }, /token/], [web.id, { displayStyle: 'popup' }, /displayStyle/]]) {
    const e = await errorOf(api.integrationsApi.updateIntegration(appId, id, body));
    assert.equal(e.status, 400, JSON.stringify(body));
    assert.equal(e.code, 'bad_request');
    assert.match(e.title, field);
  }

  assertEmpty(await api.integrationsApi.deleteIntegration(appId, tg.id));
  for (const call of [
    () => api.integrationsApi.getIntegration(appId, tg.id),
    () => api.integrationsApi.updateIntegration(appId, tg.id, { displayName: 'x' }),
    () => api.integrationsApi.deleteIntegration(appId, tg.id),
    () => api.integrationsApi.getIntegration(appId, unknown),
  ]) assert.deepEqual(await errorOf(call()), integrationNotFound);
  // Another app cannot see this app's integrations.
  const other = (await api.appsApi.createApp({ displayName: 'Other' })).app.id;
  assert.deepEqual(await errorOf(api.integrationsApi.getIntegration(other, web.id)), integrationNotFound);
  assert.deepEqual(await errorOf(api.integrationsApi.deleteIntegration(other, web.id)), integrationNotFound);
});

test('custom integration keys: create, list, get, delete, and the integration scope they give', async () => {
  const bot = (await create(custom())).typed;
  const { data, response } = await api.customIntegrationApiKeysApi.createCustomIntegrationKeyWithHttpInfo(appId, bot.id, new S.IntegrationApiKey('Bot key'));
  assert.equal(response.status, 201);
  const key = data.key;
  assert.ok(key instanceof S.ApiKey);
  assert.match(key.id, /^int_[0-9a-f]{24}$/);
  assert.equal(key.displayName, 'Bot key');
  assert.ok(key.secret.length >= 24);
  const second = (await api.customIntegrationApiKeysApi.createCustomIntegrationKey(appId, bot.id, { displayName: 'Second' })).key;

  const list = await api.customIntegrationApiKeysApi.listCustomIntegrationKeys(appId, bot.id);
  assert.ok(list instanceof S.IntegrationApiKeyListResponse);
  assert.deepEqual(new Set(list.keys.map((k) => k.id)), new Set([key.id, second.id]));
  const got = (await api.customIntegrationApiKeysApi.getCustomIntegrationKey(appId, bot.id, key.id)).key;
  assert.deepEqual({ ...got }, { ...key });

  // Basic with the int_ key: Users, Conversations and Messages of its app.
  const asBot = apis(client(srv.url, { username: key.id, password: key.secret }));
  const { user } = await asBot.usersApi.createUser(appId, new S.UserCreateBody('made-by-bot'));
  const conv = (await asBot.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  await asBot.messagesApi.postMessage(appId, conv.id, { author: { type: 'business' }, content: { type: 'text', text: 'from the bot' } });
  // Its own webhooks through its own id.
  assert.equal((await asBot.webhooksApi.listWebhooks(appId, bot.id)).webhooks.length, 1);
  // The same key as a JWT with scope integration.
  const asJwt = apis(client(srv.url, { token: jwt(key.id, key.secret, { scope: 'integration' }) }));
  assert.equal((await asJwt.usersApi.getUser(appId, 'made-by-bot')).user.id, user.id);
  assert.deepEqual(await errorOf(apis(client(srv.url, { token: jwt(key.id, key.secret, { scope: 'app' }) })).usersApi.getUser(appId, user.id)),
    { status: 401, code: 'unauthorized', title: 'Authorization is required' });

  // Not: integrations management, app management, another app.
  const otherApp = (await api.appsApi.createApp({ displayName: 'Not the bot\'s' })).app.id;
  for (const call of [
    () => asBot.integrationsApi.listIntegrations(appId),
    () => asBot.customIntegrationApiKeysApi.listCustomIntegrationKeys(appId, bot.id),
    () => asBot.appsApi.getApp(appId),
    () => asBot.usersApi.createUser(otherApp, new S.UserCreateBody('intruder')),
  ]) {
    const e = await errorOf(call());
    assert.equal(e.status, 403);
    assert.equal(e.code, 'forbidden');
  }

  assertEmpty(await api.customIntegrationApiKeysApi.deleteCustomIntegrationKey(appId, bot.id, key.id));
  assert.deepEqual((await api.customIntegrationApiKeysApi.listCustomIntegrationKeys(appId, bot.id)).keys.map((k) => k.id), [second.id]);
  assert.deepEqual(await errorOf(asBot.usersApi.getUser(appId, user.id)), { status: 401, code: 'unauthorized', title: 'Authorization is required' });
  const gone = await errorOf(api.customIntegrationApiKeysApi.getCustomIntegrationKey(appId, bot.id, key.id));
  assert.equal(gone.status, 404);
  // Deleting the integration takes its keys with it.
  assertEmpty(await api.integrationsApi.deleteIntegration(appId, bot.id));
  const asSecond = apis(client(srv.url, { username: second.id, password: second.secret }));
  assert.equal((await errorOf(asSecond.usersApi.getUser(appId, user.id))).status, 401);
});

test('custom integration keys: only for custom integrations, at most 10, 404s', async () => {
  const web = (await create(new S.Web('web'))).typed;
  const onlyCustom = { status: 400, code: 'bad_request', title: 'API keys are available only for custom integrations' };
  assert.deepEqual(await errorOf(api.customIntegrationApiKeysApi.listCustomIntegrationKeys(appId, web.id)), onlyCustom);
  assert.deepEqual(await errorOf(api.customIntegrationApiKeysApi.createCustomIntegrationKey(appId, web.id, new S.IntegrationApiKey('k'))), onlyCustom);
  assert.deepEqual(await errorOf(api.customIntegrationApiKeysApi.createCustomIntegrationKey(appId, unknown, new S.IntegrationApiKey('k'))), integrationNotFound);
  assert.deepEqual(await errorOf(api.customIntegrationApiKeysApi.listCustomIntegrationKeys(appId, unknown)), integrationNotFound);

  const bot = (await create(custom())).typed;
  const noName = await errorOf(api.customIntegrationApiKeysApi.createCustomIntegrationKey(appId, bot.id, {}));
  assert.equal(noName.status, 400);
  assert.match(noName.title, /displayName/);
  for (let i = 0; i < 10; i++) await api.customIntegrationApiKeysApi.createCustomIntegrationKey(appId, bot.id, new S.IntegrationApiKey(`k${i}`));
  const eleventh = await errorOf(api.customIntegrationApiKeysApi.createCustomIntegrationKey(appId, bot.id, new S.IntegrationApiKey('k10')));
  assert.equal(eleventh.status, 400);
  assert.equal(eleventh.code, 'bad_request');
  // A key of another integration is not found through this one.
  const other = (await create(custom())).typed;
  const [k0] = (await api.customIntegrationApiKeysApi.listCustomIntegrationKeys(appId, bot.id)).keys;
  assert.equal((await errorOf(api.customIntegrationApiKeysApi.getCustomIntegrationKey(appId, other.id, k0.id))).status, 404);
  assert.equal((await errorOf(api.customIntegrationApiKeysApi.deleteCustomIntegrationKey(appId, other.id, k0.id))).status, 404);
});
