// Attachments through the official client: both ways it uploads (an fs.ReadStream, sent with a
// filename, and a Buffer, sent without one), the media URL it gets back, and DeleteAttachment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, client, apis, rejection } from '../lib/server.mjs';

const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(64, 0x5a)]);
const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');

let srv, api, dir, appId;
before(async () => {
  srv = await startServer();
  api = apis(client(srv.url, { username: srv.keyId, password: srv.secret }));
  dir = mkdtempSync(join(tmpdir(), 'sunlamp-attachments-'));
  appId = (await api.appsApi.createApp({ displayName: 'Attachments' })).app.id;
});
after(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function fetchMedia(url, headers = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

test('upload an fs.ReadStream: the file name is kept, the type comes from the bytes', async () => {
  const path = join(dir, 'photo one.png');
  writeFileSync(path, png);
  const { attachment } = await api.attachmentsApi.uploadAttachment(appId, 'public', createReadStream(path));
  assert.equal(attachment.mediaType, 'image/png');
  assert.match(attachment.mediaUrl, new RegExp('^' + srv.url + '/attachments/v2/[0-9A-HJKMNP-TV-Z]{26}/photo%20one\\.png$'));
  const got = await fetchMedia(attachment.mediaUrl);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('content-type'), 'image/png');
  assert.deepEqual(got.body, png);
  const part = await fetchMedia(attachment.mediaUrl, { Range: 'bytes=1-3' });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), 'PNG');
});

test('upload a Buffer (no file name) for a message, then delete it', async () => {
  const { attachment } = await api.attachmentsApi.uploadAttachment(appId, 'public', pdf, { _for: 'message' });
  assert.equal(attachment.mediaType, 'application/pdf');
  assert.match(attachment.mediaUrl, /\/file\.pdf$/);
  assert.equal((await fetchMedia(attachment.mediaUrl)).status, 200);

  await api.attachmentsApi.deleteAttachment(appId, { mediaUrl: attachment.mediaUrl });
  assert.equal((await fetchMedia(attachment.mediaUrl)).status, 404);
  const err = await rejection(api.attachmentsApi.deleteAttachment(appId, { mediaUrl: attachment.mediaUrl }));
  assert.equal(err.status, 404);
  assert.deepEqual(err.body, { errors: [{ code: 'not_found', title: 'Attachment not found' }] });
  const bad = await rejection(api.attachmentsApi.deleteAttachment(appId, { mediaUrl: 'https://badhost.com/image.png' }));
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body, { errors: [{ code: 'bad_request', title: 'Unsupported media URL for attachment deletion: https://badhost.com/image.png' }] });
});
