// Apps and App Keys through the official client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, apis, rejection, SunshineConversationsClient as S } from '../lib/server.mjs';

let srv, api;
before(async () => {
  srv = await startServer();
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
});
after(async () => { await srv?.stop(); });

test('apps: create, get, list, update, delete', async () => {
  const body = new S.AppCreateBody('Conformance App');
  body.settings = { useAnimalNames: true };
  body.metadata = { tier: 'gold', seats: 3 };
  const created = await api.appsApi.createApp(body);
  const app = created.app;
  assert.match(app.id, /^[0-9a-f]{24}$/);
  assert.equal(app.displayName, 'Conformance App');
  assert.equal(app.settings.useAnimalNames, true);
  assert.equal(app.settings.maskCreditCardNumbers, true);
  assert.deepEqual(app.metadata, { tier: 'gold', seats: 3 });

  const got = await api.appsApi.getApp(app.id);
  assert.equal(got.app.id, app.id);

  const second = await api.appsApi.createApp({ displayName: 'Second' });
  const page1 = await api.appsApi.listApps({ page: { size: 1 } });
  // The client sends only the first key of `page`, so page[size]=1 arrives.
  assert.equal(page1.apps.length, 1);
  assert.equal(page1.meta.hasMore, true);
  const page2 = await api.appsApi.listApps({ page: { after: page1.meta.afterCursor } });
  assert.deepEqual(page2.apps.map((a) => a.id), [second.app.id]);
  assert.equal(page2.meta.hasMore, false);

  const updated = await api.appsApi.updateApp(app.id, { displayName: 'Renamed', metadata: null });
  assert.equal(updated.app.displayName, 'Renamed');
  assert.deepEqual(updated.app.metadata, {});

  await api.appsApi.deleteApp(second.app.id);
  const err = await rejection(api.appsApi.getApp(second.app.id));
  assert.equal(err.status, 404);
  assert.deepEqual(err.body, { errors: [{ code: 'app_not_found', title: 'App not found' }] });
});

test('app keys: create, list, get, use, delete', async () => {
  const { app } = await api.appsApi.createApp({ displayName: 'Keys' });
  const { key } = await api.appKeysApi.createAppKey(app.id, new S.AppKeyCreateBody('My key'));
  assert.match(key.id, /^app_[0-9a-f]{24}$/);
  assert.equal(key.displayName, 'My key');
  assert.ok(key.secret.length >= 24);

  const list = await api.appKeysApi.listAppKeys(app.id);
  assert.deepEqual(list.keys.map((k) => k.id), [key.id]);
  const got = await api.appKeysApi.getAppKey(app.id, key.id);
  assert.equal(got.key.secret, key.secret);

  // The app key reaches its app, and not account provisioning.
  const appScoped = apis(client(srv.url, { username: key.id, password: key.secret }));
  assert.equal((await appScoped.appsApi.getApp(app.id)).app.id, app.id);
  const forbidden = await rejection(appScoped.appsApi.listApps());
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.errors[0].code, 'forbidden');

  await api.appKeysApi.deleteAppKey(app.id, key.id);
  const gone = await rejection(appScoped.appsApi.getApp(app.id));
  assert.equal(gone.status, 401);
  assert.equal(gone.body.errors[0].code, 'unauthorized');
});

test('bad credentials are 401 in the JSON envelope', async () => {
  const bad = apis(client(srv.url, { username: srv.keyId, password: 'wrong' }));
  const err = await rejection(bad.appsApi.listApps());
  assert.equal(err.status, 401);
  assert.deepEqual(err.body, { errors: [{ code: 'unauthorized', title: 'Authorization is required' }] });
});
