// Switchboards, Switchboard Integrations and Switchboard Actions (issue 6) through the official client:
// createSwitchboard and releaseControl go out as POSTs with no body and no Content-Type.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, SunshineConversationsClient as S } from '../lib/server.mjs';
import { errorOf, assertEmpty, receiver } from '../lib/helpers.mjs';

const hex24 = /^[0-9a-f]{24}$/;
const unknown = '5e8b49d936c1df272e8e1460';

let srv, api, hooks;
before(async () => {
  srv = await startServer();
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  hooks = await receiver();
});
after(async () => {
  await hooks?.close();
  await srv?.stop();
});

const triggers = ['conversation:message', 'switchboard:passControl', 'switchboard:offerControl', 'switchboard:acceptControl', 'switchboard:releaseControl'];

test('switchboards and switchboard integrations: create, list, update, delete', async () => {
  const appId = (await api.appsApi.createApp({ displayName: 'Switchboards' })).app.id;
  const bot = (await api.integrationsApi.createIntegration(appId, new S.Custom('custom', [new S.Webhook('https://example.org/bot', ['conversation:message'])]))).integration;

  const { data, response } = await api.switchboardsApi.createSwitchboardWithHttpInfo(appId);
  assert.equal(response.status, 201);
  const sb = data.switchboard;
  assert.ok(sb instanceof S.Switchboard);
  assert.match(sb.id, hex24);
  assert.equal(sb.enabled, false);
  assert.deepEqual(await errorOf(api.switchboardsApi.createSwitchboard(appId)),
    { status: 400, code: 'bad_request', title: 'Only one switchboard can be created per app' });
  assert.deepEqual((await api.switchboardsApi.listSwitchboards(appId)).switchboards.map((s) => s.id), [sb.id]);

  const body = new S.SwitchboardIntegrationCreateBody('bot');
  body.integrationId = bot.id;
  body.messageHistoryCount = 3;
  const si = (await api.switchboardIntegrationsApi.createSwitchboardIntegration(appId, sb.id, body)).switchboardIntegration;
  assert.ok(si instanceof S.SwitchboardIntegration);
  assert.match(si.id, hex24);
  assert.equal(si.name, 'bot');
  assert.equal(si.integrationId, bot.id);
  assert.equal(si.integrationType, 'custom');
  assert.equal(si.deliverStandbyEvents, true);
  assert.equal(si.messageHistoryCount, 3);
  const listed = (await api.switchboardIntegrationsApi.listSwitchboardIntegrations(appId, sb.id)).switchboardIntegrations;
  assert.deepEqual(listed.map((x) => x.id), [si.id]);
  const updated = (await api.switchboardIntegrationsApi.updateSwitchboardIntegration(appId, sb.id, si.id, { deliverStandbyEvents: false, name: 'the-bot' })).switchboardIntegration;
  assert.equal(updated.deliverStandbyEvents, false);
  assert.equal(updated.name, 'the-bot');

  const needsDefault = await errorOf(api.switchboardsApi.updateSwitchboard(appId, sb.id, { enabled: true }));
  assert.equal(needsDefault.status, 400);
  const enabled = (await api.switchboardsApi.updateSwitchboard(appId, sb.id, new S.SwitchboardUpdateBody())).switchboard;
  assert.equal(enabled.enabled, false);
  const on = (await api.switchboardsApi.updateSwitchboard(appId, sb.id, { enabled: true, defaultSwitchboardIntegrationId: si.id })).switchboard;
  assert.equal(on.enabled, true);
  assert.equal(on.defaultSwitchboardIntegrationId, si.id);

  assert.equal((await errorOf(api.switchboardIntegrationsApi.deleteSwitchboardIntegration(appId, sb.id, si.id))).status, 400);
  await api.switchboardsApi.updateSwitchboard(appId, sb.id, { enabled: false, defaultSwitchboardIntegrationId: null });
  assertEmpty(await api.switchboardIntegrationsApi.deleteSwitchboardIntegration(appId, sb.id, si.id));
  assert.deepEqual(await errorOf(api.switchboardIntegrationsApi.deleteSwitchboardIntegration(appId, sb.id, si.id)),
    { status: 404, code: 'switchboard_integration_not_found', title: 'SwitchboardIntegration not found' });
  assertEmpty(await api.switchboardsApi.deleteSwitchboard(appId, sb.id));
  assert.deepEqual(await errorOf(api.switchboardsApi.deleteSwitchboard(appId, sb.id)),
    { status: 404, code: 'switchboard_not_found', title: 'Switchboard not found' });
  assert.deepEqual(await errorOf(api.switchboardIntegrationsApi.listSwitchboardIntegrations(appId, unknown)),
    { status: 404, code: 'switchboard_not_found', title: 'Switchboard not found' });
  assert.deepEqual((await api.switchboardsApi.listSwitchboards(appId)).switchboards, []);
});

test('bot → agent → bot handoff with the integrations\' own keys, seen in conversations and webhooks', async () => {
  const appId = (await api.appsApi.createApp({ displayName: 'Handoff' })).app.id;
  const custom = (path) => new S.Custom('custom', [new S.Webhook(hooks.url + path, triggers)]);
  const bot = (await api.integrationsApi.createIntegration(appId, custom('/bot'))).integration;
  const agent = (await api.integrationsApi.createIntegration(appId, custom('/agent'))).integration;
  const keyOf = async (id) => (await api.customIntegrationApiKeysApi.createCustomIntegrationKey(appId, id, new S.IntegrationApiKey('k'))).key;
  const botKey = await keyOf(bot.id);
  const agentKey = await keyOf(agent.id);
  const asBot = apis(client(srv.url, { username: botKey.id, password: botKey.secret }));
  const asAgent = apis(client(srv.url, { username: agentKey.id, password: agentKey.secret }));

  // Integration scope may not configure switchboards.
  assert.equal((await errorOf(asBot.switchboardsApi.listSwitchboards(appId))).status, 403);

  const sb = (await api.switchboardsApi.createSwitchboard(appId)).switchboard;
  const agentSI = (await api.switchboardIntegrationsApi.createSwitchboardIntegration(appId, sb.id,
    { name: 'agent', integrationId: agent.id, deliverStandbyEvents: false })).switchboardIntegration;
  const botSI = (await api.switchboardIntegrationsApi.createSwitchboardIntegration(appId, sb.id,
    { name: 'bot', integrationId: bot.id, deliverStandbyEvents: false, nextSwitchboardIntegrationId: agentSI.id })).switchboardIntegration;
  await api.switchboardsApi.updateSwitchboard(appId, sb.id, { enabled: true, defaultSwitchboardIntegrationId: botSI.id });

  const { user } = await api.usersApi.createUser(appId, new S.UserCreateBody('customer'));
  const conv = (await api.conversationsApi.createConversation(appId, { type: 'personal', participants: [{ userId: user.id }] })).conversation;
  assert.deepEqual({ ...conv.activeSwitchboardIntegration }, { id: botSI.id, name: 'bot', integrationId: bot.id, integrationType: 'custom' });
  assert.equal(conv.pendingSwitchboardIntegration, undefined);

  const say = (text) => api.messagesApi.postMessage(appId, conv.id, new S.MessagePost(Object.assign(new S.Author('user'), { userId: user.id }), { type: 'text', text }));
  const events = (r) => (Array.isArray(r.body?.events) ? r.body.events : []);
  const got = (path, pred) => hooks.waitFor((r) => r.url === path && events(r).some(pred));
  const text = (t) => (e) => e.type === 'conversation:message' && e.payload.message.content.text === t;

  await say('hello bot');
  await got('/bot', text('hello bot'));

  assertEmpty(await asBot.switchboardActionsApi.passControl(appId, conv.id, { switchboardIntegration: 'next', metadata: { topic: 'refund' } }));
  const passed = await got('/agent', (e) => e.type === 'switchboard:passControl');
  const passEvent = events(passed).find((e) => e.type === 'switchboard:passControl');
  assert.deepEqual(passEvent.payload.metadata, { topic: 'refund' });
  assert.equal(passEvent.payload.conversation.activeSwitchboardIntegration.id, agentSI.id);
  assert.equal((await asAgent.conversationsApi.getConversation(appId, conv.id)).conversation.activeSwitchboardIntegration.name, 'agent');
  await say('hello agent');
  await got('/agent', text('hello agent'));

  // Only the active integration may release; only the pending one may accept.
  assert.deepEqual(await errorOf(asBot.switchboardActionsApi.releaseControl(appId, conv.id)), { status: 403, code: 'forbidden', title: 'Forbidden' });
  assertEmpty(await asAgent.switchboardActionsApi.offerControl(appId, conv.id, new S.OfferControlBody('bot')));
  const offered = (await api.conversationsApi.getConversation(appId, conv.id)).conversation;
  assert.equal(offered.activeSwitchboardIntegration.id, agentSI.id);
  assert.equal(offered.pendingSwitchboardIntegration.id, botSI.id);
  assert.deepEqual(await errorOf(asAgent.switchboardActionsApi.acceptControl(appId, conv.id, new S.AcceptControlBody())), { status: 403, code: 'forbidden', title: 'Forbidden' });
  assertEmpty(await asBot.switchboardActionsApi.acceptControl(appId, conv.id, new S.AcceptControlBody()));
  await got('/agent', (e) => e.type === 'switchboard:acceptControl' && e.payload.conversation.activeSwitchboardIntegration.id === botSI.id);
  await say('back to bot');
  await got('/bot', text('back to bot'));

  assertEmpty(await asBot.switchboardActionsApi.releaseControl(appId, conv.id));
  await got('/agent', (e) => e.type === 'switchboard:releaseControl');
  const released = (await api.conversationsApi.getConversation(appId, conv.id)).conversation;
  assert.equal(released.activeSwitchboardIntegration, undefined);

  // The agent, on standby without standby events, never heard the bot's messages.
  const heard = hooks.requests.filter((r) => r.url === '/agent').flatMap(events).filter((e) => e.type === 'conversation:message').map((e) => e.payload.message.content.text);
  assert.deepEqual(heard, ['hello agent']);

  assert.deepEqual(await errorOf(api.switchboardActionsApi.passControl(appId, unknown, { switchboardIntegration: 'bot' })),
    { status: 404, code: 'conversation_not_found', title: 'Conversation not found' });
});
