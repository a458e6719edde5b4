// Runs last (files run in name order, one at a time): every operation of the spec must have been
// called through the official client by the suite's other files (lib/server.mjs logs the calls).
// Run alone, or without ../shared/spec, it skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callLog } from '../lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const specFile = resolve(here, '..', '..', '..', 'shared', 'spec', 'openapi.yaml');

// specOperations reads "METHOD /path operationId" from the spec's text: paths are the two-space
// keys under `paths:`, methods the four-space keys under them.
function specOperations() {
  const ops = [];
  let path = null, method = null, inPaths = false;
  for (const line of readFileSync(specFile, 'utf8').split('\n')) {
    if (/^\S/.test(line)) inPaths = line.startsWith('paths:');
    if (!inPaths) continue;
    let m;
    if ((m = line.match(/^  (\/\S*):\s*$/))) path = m[1];
    else if ((m = line.match(/^    (get|post|put|patch|delete):\s*$/))) method = m[1].toUpperCase();
    else if ((m = line.match(/^      operationId:\s*(\S+)/))) ops.push({ id: m[1], key: `${method} ${path}` });
  }
  return ops;
}

const others = readdirSync(here).filter((f) => f.endsWith('.test.mjs') && f !== 'zz-coverage.test.mjs');
const logged = existsSync(callLog) ? readFileSync(callLog, 'utf8').split('\n').filter(Boolean) : [];
const skip = !existsSync(specFile) ? 'the spec (../shared/spec/openapi.yaml) is absent'
  : logged.length < 100 ? `the other test files did not run in this run (npm test runs them all: ${others.length} files)` : false;

test('the suite drives all 68 operations of the spec through the official client', { skip }, () => {
  const called = new Set(logged);
  const ops = specOperations();
  assert.equal(ops.length, 68, 'the spec has 68 operations');
  const missing = ops.filter((o) => !called.has(o.key)).map((o) => `${o.id} (${o.key})`);
  assert.deepEqual(missing, [], 'operations no test called through the official client');
  rmSync(callLog, { force: true });
});
