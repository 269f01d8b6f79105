import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../core/errors.js';
import { parseRouteTable } from './table-validation.js';

const backend = { id: 'r1', url: 'http://127.0.0.1:9001' };
const target = (revision: number, weight: number) => ({
  revision,
  weight,
  model: { name: 'm', version: '1' },
  backends: [backend],
});
/** A table whose one route has revisions 1 (weight 100) and 2 (weight 0) plus `extra`. */
const tableWith = (extra: Record<string, unknown>) => ({
  version: 1,
  routes: [{ environment: 'prod', deployment: 'risk', targets: [target(1, 100), target(2, 0)], ...extra }],
});
const rejects = (extra: Record<string, unknown>, message: string) =>
  assert.throws(
    () => parseRouteTable(tableWith(extra)),
    (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, String(e));
      assert.equal(e.message, message);
      return true;
    },
  );

test('matches, sticky and mirror pass through when valid, weight 0 targets included', () => {
  const extra = {
    matches: [
      { header: { name: 'X-Variant', value: 'b' }, revision: 2 },
      { cookie: { name: 'variant', value: '' }, revision: 1 },
    ],
    sticky: { cookie: 'session_id' },
    mirror: { revision: 2, percent: 12.5, tolerance: 0 },
  };
  const route = parseRouteTable(tableWith(extra)).routes[0]!;
  assert.deepEqual({ matches: route.matches, sticky: route.sticky, mirror: route.mirror }, extra);
  assert.equal(route.targets[1]!.weight, 0);
  // A mirror without tolerance keeps it unset (the compiled table applies the default).
  assert.deepEqual(parseRouteTable(tableWith({ mirror: { revision: 1, percent: 100 } })).routes[0]!.mirror, {
    revision: 1,
    percent: 100,
  });
  // Absent rules stay absent (the route keeps its plain shape).
  assert.deepEqual(Object.keys(parseRouteTable(tableWith({})).routes[0]!), ['environment', 'deployment', 'targets']);
});

test('match rules: one of header or cookie, token names, a string value, a revision of the route', () => {
  const at = 'route table.routes[0].matches';
  rejects({ matches: {} }, `${at}: must be an array, got {}`);
  rejects({ matches: [3] }, `${at}[0]: must be an object, got 3`);
  rejects({ matches: [{ revision: 1 }] }, `${at}[0]: must set exactly one of 'header' and 'cookie', got neither`);
  rejects(
    { matches: [{ header: { name: 'a', value: 'b' }, cookie: { name: 'a', value: 'b' }, revision: 1 }] },
    `${at}[0]: must set exactly one of 'header' and 'cookie', got both`,
  );
  rejects(
    { matches: [{ header: { name: 'x variant', value: 'b' }, revision: 1 }] },
    `${at}[0].header.name: must be an HTTP token (letters, digits and !#$%&'*+-.^_\`|~), got "x variant"`,
  );
  rejects(
    { matches: [{ cookie: { name: '', value: 'b' }, revision: 1 }] },
    `${at}[0].cookie.name: must be an HTTP token (letters, digits and !#$%&'*+-.^_\`|~), got ""`,
  );
  rejects(
    { matches: [{ header: { name: 'x', value: 7 }, revision: 1 }] },
    `${at}[0].header.value: must be a string without control characters, got 7`,
  );
  rejects(
    { matches: [{ header: { name: 'x', value: 'a\nb' }, revision: 1 }] },
    `${at}[0].header.value: must be a string without control characters, got "a\\nb"`,
  );
  rejects(
    { matches: [{ header: { name: 'x', value: 'b' }, revision: 7 }] },
    `${at}[0].revision: must be the revision of one of the route's targets (1, 2), got 7`,
  );
  rejects(
    { matches: [{ header: { name: 'x', value: 'b' }, revision: '2' }] },
    `${at}[0].revision: must be the revision of one of the route's targets (1, 2), got "2"`,
  );
  rejects({ matches: [{ header: 'x', revision: 1 }] }, `${at}[0].header: must be an object, got "x"`);
});

test('sticky: exactly one of header or cookie, a token', () => {
  const at = 'route table.routes[0].sticky';
  rejects({ sticky: 'x-user' }, `${at}: must be an object, got "x-user"`);
  rejects({ sticky: {} }, `${at}: must set exactly one of 'header' and 'cookie', got neither`);
  rejects({ sticky: { header: 'a', cookie: 'b' } }, `${at}: must set exactly one of 'header' and 'cookie', got both`);
  rejects(
    { sticky: { header: 'x:user' } },
    `${at}.header: must be an HTTP token (letters, digits and !#$%&'*+-.^_\`|~), got "x:user"`,
  );
  rejects(
    { sticky: { cookie: 5 } },
    `${at}.cookie: must be an HTTP token (letters, digits and !#$%&'*+-.^_\`|~), got 5`,
  );
});

test('mirror: a revision of the route, percent 0–100, tolerance finite and ≥ 0', () => {
  const at = 'route table.routes[0].mirror';
  rejects({ mirror: [] }, `${at}: must be an object, got []`);
  rejects(
    { mirror: { revision: 3, percent: 10 } },
    `${at}.revision: must be the revision of one of the route's targets (1, 2), got 3`,
  );
  rejects({ mirror: { revision: 2 } }, `${at}.percent: must be a number from 0 to 100`);
  rejects({ mirror: { revision: 2, percent: 101 } }, `${at}.percent: must be a number from 0 to 100, got 101`);
  rejects({ mirror: { revision: 2, percent: -1 } }, `${at}.percent: must be a number from 0 to 100, got -1`);
  rejects(
    { mirror: { revision: 2, percent: 50, tolerance: -0.1 } },
    `${at}.tolerance: must be a finite number ≥ 0, got -0.1`,
  );
  rejects(
    { mirror: { revision: 2, percent: 50, tolerance: '1e-3' } },
    `${at}.tolerance: must be a finite number ≥ 0, got "1e-3"`,
  );
  assert.throws(
    () => parseRouteTable(tableWith({ mirror: { revision: 2, percent: 50, tolerance: Infinity } })),
    /tolerance: must be a finite number ≥ 0/,
  );
});

test('a route without targets names that no revision can be matched', () => {
  const table = {
    version: 1,
    routes: [{ environment: 'prod', deployment: 'risk', targets: [], mirror: { revision: 1, percent: 5 } }],
  };
  assert.throws(() => parseRouteTable(table), {
    message:
      "route table.routes[0].mirror.revision: must be the revision of one of the route's targets (it has none), got 1",
  });
});

test('hold and outlierDetection pass through when valid', () => {
  const extra = {
    hold: { queue: 100, timeoutMs: 30_000 },
    outlierDetection: { consecutiveErrors: 3, baseEjectionMs: 1000, maxEjectionMs: 1000, maxEjectedPercent: 33.3 },
  };
  const route = parseRouteTable(tableWith(extra)).routes[0]!;
  assert.deepEqual({ hold: route.hold, outlierDetection: route.outlierDetection }, extra);
});

test('hold: an object with an integer queue 1–10,000 and timeoutMs 1–600,000', () => {
  const at = 'route table.routes[0].hold';
  rejects({ hold: 5 }, `${at}: must be an object, got 5`);
  rejects({ hold: { timeoutMs: 10 } }, `${at}.queue: must be an integer from 1 to 10000`);
  rejects({ hold: { queue: 0, timeoutMs: 10 } }, `${at}.queue: must be an integer from 1 to 10000, got 0`);
  rejects({ hold: { queue: 10_001, timeoutMs: 10 } }, `${at}.queue: must be an integer from 1 to 10000, got 10001`);
  rejects({ hold: { queue: 1.5, timeoutMs: 10 } }, `${at}.queue: must be an integer from 1 to 10000, got 1.5`);
  rejects(
    { hold: { queue: 1, timeoutMs: 600_001 } },
    `${at}.timeoutMs: must be an integer from 1 to 600000, got 600001`,
  );
  rejects({ hold: { queue: 1, timeoutMs: '5' } }, `${at}.timeoutMs: must be an integer from 1 to 600000, got "5"`);
});

test('outlierDetection: every field checked, maxEjectionMs at least baseEjectionMs', () => {
  const at = 'route table.routes[0].outlierDetection';
  const ok = { consecutiveErrors: 5, baseEjectionMs: 5000, maxEjectionMs: 60_000, maxEjectedPercent: 50 };
  rejects({ outlierDetection: [] }, `${at}: must be an object, got []`);
  rejects(
    { outlierDetection: { ...ok, consecutiveErrors: 0 } },
    `${at}.consecutiveErrors: must be an integer from 1 to 1000, got 0`,
  );
  rejects(
    { outlierDetection: { ...ok, baseEjectionMs: -1 } },
    `${at}.baseEjectionMs: must be an integer from 1 to 3600000, got -1`,
  );
  rejects(
    { outlierDetection: { ...ok, maxEjectionMs: 4999 } },
    `${at}.maxEjectionMs: must be an integer from 5000 to 3600000 (at least baseEjectionMs), got 4999`,
  );
  rejects(
    { outlierDetection: { ...ok, maxEjectedPercent: 101 } },
    `${at}.maxEjectedPercent: must be a number from 0 to 100, got 101`,
  );
  rejects(
    { outlierDetection: { ...ok, maxEjectedPercent: undefined } },
    `${at}.maxEjectedPercent: must be a number from 0 to 100`,
  );
});

test('auth tokens and rate limits pass through when valid', () => {
  const hash = 'a'.repeat(64);
  const access = {
    auth: {
      tokens: [
        { id: 'tok1', hash, expiresAt: '2027-01-01T00:00:00Z' },
        { id: 'tok2', hash, expiresAt: null },
      ],
    },
    rateLimit: { requestsPerSecond: 2.5, burst: 5, per: 'token' },
  };
  const route = parseRouteTable(tableWith(access)).routes[0]!;
  assert.deepEqual(route.auth, access.auth);
  assert.deepEqual(route.rateLimit, access.rateLimit);
  assert.deepEqual(parseRouteTable(tableWith({ auth: { tokens: [] } })).routes[0]!.auth, { tokens: [] });
});

test('bad auth tokens and rate limits are refused naming the field', () => {
  const at = 'route table.routes[0]';
  const hash = 'b'.repeat(64);
  rejects({ auth: {} }, `${at}.auth.tokens: must be an array`);
  rejects(
    { auth: { tokens: [{ id: 'A!', hash, expiresAt: null }] } },
    `${at}.auth.tokens[0].id: must be 1-64 lowercase letters and digits, got "A!"`,
  );
  rejects(
    {
      auth: {
        tokens: [
          { id: 't', hash, expiresAt: null },
          { id: 't', hash, expiresAt: null },
        ],
      },
    },
    `${at}.auth.tokens[1].id: duplicate token id 't'`,
  );
  rejects(
    { auth: { tokens: [{ id: 't', hash: 'xyz', expiresAt: null }] } },
    `${at}.auth.tokens[0].hash: must be a hex SHA-256 (64 lowercase hex digits)`,
  );
  rejects(
    { auth: { tokens: [{ id: 't', hash, expiresAt: 'soon' }] } },
    `${at}.auth.tokens[0].expiresAt: must be an ISO time or null, got "soon"`,
  );
  rejects(
    { rateLimit: { requestsPerSecond: 0, burst: 1, per: 'client' } },
    `${at}.rateLimit.requestsPerSecond: must be a number above 0 and at most 1000000, got 0`,
  );
  rejects(
    { rateLimit: { requestsPerSecond: 1, burst: 0.5, per: 'client' } },
    `${at}.rateLimit.burst: must be an integer from 1 to 1000000, got 0.5`,
  );
  rejects(
    { rateLimit: { requestsPerSecond: 1, burst: 1, per: 'ip' } },
    `${at}.rateLimit.per: must be 'token' or 'client', got "ip"`,
  );
});
