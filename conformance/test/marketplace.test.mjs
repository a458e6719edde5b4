// The last operations (issue 18) through the official client: the OAuth endpoints (authorize,
// getToken, revokeAccess, and GetTokenInfo), DownloadMessageRef, PostConversionEvents, SyncUser and
// ListUsers. The client lacks GetTokenInfo, PostConversionEvents, SyncUser and ListUsers: those go
// through its own ApiClient.callApi, as a user of the client would send them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, SunshineConversationsClient as S } from '../lib/server.mjs';
import { http, basic, inbound, errorOf, assertEmpty, receiver } from '../lib/helpers.mjs';

let srv, api, acct, appId, partner;
before(async () => {
  srv = await startServer();
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  acct = basic(srv.keyId, srv.secret);
  appId = (await api.appsApi.createApp({ displayName: 'Marketplace' })).app.id;
  partner = await receiver();
});
after(async () => { await partner?.close(); await srv?.stop(); });

// call sends an operation the client has no method for through its ApiClient, as JSON.
function call(apiClient, path, method, { pathParams = {}, query = {}, body = null } = {}) {
  const auth = apiClient.authentications.bearerAuth.accessToken ? ['bearerAuth'] : ['basicAuth'];
  return apiClient.callApi(path, method, pathParams, query, {}, {}, body, auth, body ? ['application/json'] : [], ['application/json'], Object, null);
}

// consent walks the consent page's two forms as a browser posts them, and returns where the
// browser is sent back to.
async function consent(consentURL, keyId, secret, app, decision) {
  const form = (fields) => ({ method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  const signIn = Object.fromEntries(new URL(consentURL).searchParams);
  let res = await fetch(srv.url + '/oauth/consent', form({ ...signIn, key_id: keyId, key_secret: secret }));
  const ticket = (await res.text()).match(/name="ticket" value="([^"]+)"/)?.[1];
  assert.ok(ticket, `no ticket on the app picker (${res.status})`);
  res = await fetch(srv.url + '/oauth/consent', form({ ticket, app_id: app, decision }));
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location'));
}

test('OAuth: authorize, getToken, GetTokenInfo, the token where integration scope goes, revokeAccess', async () => {
  let res = await http(srv.url, 'POST', '/_sunlamp/v1/oauth/clients', { auth: acct, body: {
    id: 'conformance-bot', name: 'Conformance Bot', redirectUris: [partner.url + '/callback'], removeUrl: partner.url + '/removed' } });
  assert.equal(res.status, 201);
  const secret = res.body.client.secret;

  // authorize follows the spec's 302 to the consent page (it sends no credentials).
  const anon = apis(client(srv.url));
  const { response } = await anon.oAuthEndpointsApi.authorizeWithHttpInfo('conformance-bot', 'code', { state: 'st' });
  assert.equal(response.status, 200);
  assert.equal(response.redirects.length, 1);
  assert.match(response.redirects[0], /\/oauth\/consent\?client_id=conformance-bot&redirect_uri=.*&state=st$/);
  const back = await consent(response.redirects[0], srv.keyId, srv.secret, appId, 'allow');
  assert.equal(back.searchParams.get('state'), 'st');

  const token = await anon.oAuthEndpointsApi.getToken(new S.InlineObject(back.searchParams.get('code'), 'authorization_code', 'conformance-bot', secret));
  assert.equal(token.token_type, 'Bearer');
  const bot = client(srv.url, { token: token.access_token });
  const info = await call(bot, '/v2/tokenInfo', 'GET');
  assert.equal(info.response.body.app.id, appId);
  assert.equal(info.response.body.app.subdomain, appId);

  const botApi = apis(bot);
  const user = (await botApi.usersApi.createUser(appId, new S.UserCreateBody('by-the-bot'))).user;
  assert.equal(user.externalId, 'by-the-bot');
  // Plain objects as bodies: the client's mixin models (allOf) send none of their fields.
  const hook = { target: partner.url + '/hook', triggers: ['conversation:message'] };
  assert.equal((await botApi.webhooksApi.createWebhook(appId, 'me', hook)).webhook.target, partner.url + '/hook');
  assert.equal((await errorOf(botApi.integrationsApi.listIntegrations(appId))).status, 403);
  // The code was spent.
  assert.deepEqual(await errorOf(anon.oAuthEndpointsApi.getToken(new S.InlineObject(back.searchParams.get('code'), 'authorization_code', 'conformance-bot', secret))),
    { status: 400, code: 'bad_request', title: 'Invalid authorization code' });

  assertEmpty(await botApi.oAuthEndpointsApi.revokeAccess());
  assert.equal((await errorOf(call(bot, '/v2/tokenInfo', 'GET'))).status, 401);
  const removed = await partner.waitFor((r) => r.url === '/removed');
  assert.deepEqual(removed.body, { appId, integrationId: removed.body.integrationId, clientId: 'conformance-bot' });
});

test('switchboard integrations by OAuth type (the Postman collection\'s zd:agentWorkspace)', async () => {
  const sb = (await api.switchboardsApi.createSwitchboard(appId)).switchboard;
  const body = new S.SwitchboardIntegrationCreateBody('agent');
  body.integrationType = 'zd:agentWorkspace';
  body.deliverStandbyEvents = false;
  const si = (await api.switchboardIntegrationsApi.createSwitchboardIntegration(appId, sb.id, body)).switchboardIntegration;
  assert.equal(si.integrationType, 'zd:agentWorkspace');
  assert.match(si.integrationId, /^[0-9a-f]{24}$/);
});

test('DownloadMessageRef: an Apple customer\'s interactive data', async () => {
  const apple = new S.Integration();
  Object.assign(apple, { type: 'apple', businessId: 'biz', apiSecret: 'secret', mspId: 'msp' });
  const integ = (await api.integrationsApi.createIntegration(appId, apple)).integration;
  const sent = await inbound(srv, appId, { channel: 'apple', integrationId: integ.id, client: { externalId: 'urn:mbid:conformance' },
    content: { type: 'text', text: 'booked' } });
  const rec = await http(srv.url, 'POST', `/_sunlamp/v1/apps/${appId}/interactiveData`, { auth: acct,
    body: { integrationId: integ.id, userId: sent.user.id, content: { data: { slot: 'Tuesday 10:00' } } } });
  assert.equal(rec.status, 201);
  const body = { userId: sent.user.id, apple: { interactiveDataRef: rec.body.interactiveDataRef } };
  assert.deepEqual(await api.conversationsApi.downloadMessageRef(appId, sent.conversation.id, body), { data: { slot: 'Tuesday 10:00' } });
});

test('PostConversionEvents, SyncUser and ListUsers through the client\'s ApiClient', async () => {
  const ig = new S.Integration();
  Object.assign(ig, { type: 'instagram', pageAccessToken: 't', appId: 'a', appSecret: 's' });
  const integ = (await api.integrationsApi.createIntegration(appId, ig)).integration;
  const sent = await inbound(srv, appId, { channel: 'instagram', integrationId: integ.id, client: { externalId: 'igsid-9' },
    content: { type: 'text', text: 'hi' } });
  const apiClient = client(srv.url, { username: srv.keyId, password: srv.secret });
  const conv = await call(apiClient, '/v2/apps/{appId}/conversations/{conversationId}/conversionEvents', 'POST', {
    pathParams: { appId, conversationId: sent.conversation.id },
    body: { instagram: { payload: { data: [{ action_source: 'business_messaging', event_name: 'Purchase', event_time: 1752161233 }] } } } });
  assert.equal(conv.response.body.conversionEvents.eventsReceived, 1);
  assert.match(conv.response.body.conversionEvents.datasetId, /^\d{16,19}$/);

  let res = await http(srv.url, 'POST', '/_sunlamp/v1/zendesk/users', { auth: acct, body: { id: '35436', name: 'Jane Doe', email: 'jane@example.com', externalId: 'your-own-id' } });
  assert.equal(res.status, 201);
  const user = (await api.usersApi.createUser(appId, new S.UserCreateBody('hc-jane'))).user;
  res = await http(srv.url, 'POST', `/_sunlamp/v1/apps/${appId}/users/${user.id}/zendesk`, { auth: acct, body: { zendeskId: '35436' } });
  assert.equal(res.status, 200);
  const synced = await call(apiClient, '/v2/apps/{appId}/users/{zendeskId}/sync', 'POST', { pathParams: { appId, zendeskId: '35436' }, body: {} });
  assert.deepEqual(synced.response.body.user.identities, [{ type: 'email', value: 'jane@example.com', verification: 'verified' }]);
  assert.equal(synced.response.body.user.zendeskId, '35436');
  assert.equal(synced.response.body.user.externalId, 'your-own-id');
  const listed = await call(apiClient, '/v2/apps/{appId}/users', 'GET', { pathParams: { appId }, query: { 'filter[identities.email]': 'jane@example.com' } });
  assert.deepEqual(listed.response.body.users.map((u) => u.id), [user.id]);
});
