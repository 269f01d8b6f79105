import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRoute } from './routes.js';

test('protocol paths map to routes, with and without versions', () => {
  assert.deepEqual(parseRoute('/v2/health/live'), { kind: 'live' });
  assert.deepEqual(parseRoute('/v2/health/ready?x=1'), { kind: 'ready' });
  assert.deepEqual(parseRoute('/v2'), { kind: 'server-metadata' });
  assert.deepEqual(parseRoute('/v2/'), { kind: 'server-metadata' });
  assert.deepEqual(parseRoute('/v2/models/m'), { kind: 'model-metadata', model: 'm', version: undefined });
  assert.deepEqual(parseRoute('/v2/models/m/versions/1.0.0/ready'), {
    kind: 'model-ready',
    model: 'm',
    version: '1.0.0',
  });
  assert.deepEqual(parseRoute('/v2/models/a%20b/infer'), { kind: 'infer', model: 'a b', version: undefined });
  assert.deepEqual(parseRoute('/v2/models/m/versions/2/infer'), { kind: 'infer', model: 'm', version: '2' });
});

test('unknown or malformed paths are not routes', () => {
  for (const path of [
    '/',
    '/v1/models/m',
    '/v2/models/',
    '/v2/models/m/versions',
    '/v2/models/m/versions/1/x',
    '/v2/models/m/infer/x',
    '/v2/models/%E0%A4%A/infer',
  ]) {
    assert.equal(parseRoute(path), undefined, path);
  }
});
