// Starts a freshly built Sunlamp on a free port with an empty SQLite database, and configures the
// official Sunshine Conversations client against it.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const SunshineConversationsClient = require('sunshine-conversations-client');

// Every call the official client makes, in any test file of one `npm test`, is logged (method and
// path template) to a file named after the test runner's process, so that test/zz-coverage.test.mjs
// can check that the suite drives every operation of the spec.
export const callLog = join(tmpdir(), `sunlamp-conformance-calls-${process.ppid}.log`);
const callApi = SunshineConversationsClient.ApiClient.prototype.callApi;
SunshineConversationsClient.ApiClient.prototype.callApi = function (path, method, ...rest) {
  appendFileSync(callLog, `${method} ${path}\n`);
  return callApi.call(this, path, method, ...rest);
};

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// binary returns the sunlamp binary to test: $SUNLAMP_BIN, or one built from this checkout.
function binary(dir) {
  if (process.env.SUNLAMP_BIN && existsSync(process.env.SUNLAMP_BIN)) return process.env.SUNLAMP_BIN;
  const bin = join(dir, 'sunlamp');
  execFileSync('go', ['build', '-o', bin, './cmd/sunlamp'], { cwd: root, stdio: 'inherit' });
  return bin;
}

// startServer starts sunlamp (with the extra serve flags args, e.g. ['--emulator']) and resolves
// to {url, keyId, secret, stop, logs}.
export async function startServer({ args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sunlamp-conformance-'));
  const bin = binary(dir);
  const keyId = 'act_' + randomBytes(12).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const child = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--db', 'sqlite:' + join(dir, 'sunlamp.db'), ...args], {
    env: { ...process.env, SUNLAMP_ACCOUNT_KEY_ID: keyId, SUNLAMP_ACCOUNT_KEY_SECRET: secret, SUNLAMP_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stderr.on('data', (d) => { logs += d; });
  const url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error('sunlamp did not start in 30s:\n' + logs)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`sunlamp exited with ${code}:\n${logs}`)); });
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((ok) => child.on('exit', ok));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, keyId, secret, stop, logs: () => logs };
}

// client returns a new ApiClient for url authenticated with Basic auth (or a bearer token).
export function client(url, { username, password, token } = {}) {
  const c = new SunshineConversationsClient.ApiClient();
  c.basePath = url;
  if (username) {
    c.authentications.basicAuth.username = username;
    c.authentications.basicAuth.password = password;
  }
  if (token) c.authentications.bearerAuth.accessToken = token;
  return c;
}

// apis returns one instance of every API class of the official client, bound to apiClient.
export function apis(apiClient) {
  const S = SunshineConversationsClient;
  const out = {};
  for (const name of Object.keys(S)) {
    if (name.endsWith('Api') && typeof S[name] === 'function') {
      out[name[0].toLowerCase() + name.slice(1)] = new S[name](apiClient);
    }
  }
  return out;
}

// rejection awaits a promise that must reject, and returns the error (status, body).
export async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('the call succeeded; it should have failed');
}
