// The gateway's routing for A/B tests and canaries, against real node:http upstreams on port 0:
// weighted splits of several revisions, header and cookie matches (also to a weight-0 revision),
// sticky assignment by header and by cookie, the assignment log behind A/B attribution, and the
// snapshot that the built-in metrics source reads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayServer } from '../src/gateway/gateway-server.js';
import { LATENCY_BUCKETS } from '../src/gateway/metrics.js';
import type { Route, RouteTable } from '../src/protocol/route-table.js';
import { countBy, FakeUpstream, inferBody, route, table, target } from './support/gateway.js';
import { http } from './support/serving.js';

const ENV = 'production';
const DEPLOYMENT = 'risk';
const PATH = `/${ENV}/${DEPLOYMENT}/v2/models/${DEPLOYMENT}/infer`;

/** Three upstreams, one per revision, each answering with its own name. */
const upstreams = [1, 2, 3].map(
  (n) =>
    new FakeUpstream((req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ upstream: n })));
    }),
);
let urls: string[] = [];
let gateway: GatewayServer;

/** A target of `revision` served by upstream number `revision`. */
const rev = (revision: number, weight: number) =>
  target(revision, weight, [{ id: `u${revision}`, url: urls[revision - 1]! }], DEPLOYMENT);
const oneRoute = (version: number, targets: Route['targets'], rules: Parameters<typeof route>[3] = {}): RouteTable =>
  table(version, [route(ENV, DEPLOYMENT, targets, rules)]);

/** One request; returns the revision that served it (checked against the upstream that answered) and the request id. */
async function send(headers: Record<string, string> = {}): Promise<{ revision: string; requestId: string }> {
  const res = await http(`${gateway.url}${PATH}`, {
    body: inferBody(),
    headers: { 'content-type': 'application/json', ...headers },
  });
  assert.equal(res.status, 200, res.text);
  const revision = res.headers.get('x-wharf-revision')!;
  assert.equal(
    res.text,
    JSON.stringify({ upstream: Number(revision) }),
    'the revision named in the header served the request',
  );
  return { revision, requestId: res.headers.get('x-request-id')! };
}

/** `total` requests, `concurrency` at a time; the revision of each. */
async function sendMany(
  total: number,
  concurrency: number,
  headers: (i: number) => Record<string, string> = () => ({}),
): Promise<string[]> {
  const revisions: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        revisions[i] = (await send(headers(i))).revision;
      }
    }),
  );
  return revisions;
}

before(async () => {
  urls = await Promise.all(upstreams.map((u) => u.start()));
  gateway = new GatewayServer({ port: 0, shutdownGraceMs: 2_000 });
  await gateway.start();
});

after(async () => {
  await gateway.stop();
  await Promise.all(upstreams.map((u) => u.stop()));
});

describe('weighted split', () => {
  test('three revisions at 50/30/20 over 3,000 requests, and snapshot() counts the same', async () => {
    gateway.setTable(oneRoute(1, [rev(1, 50), rev(2, 30), rev(3, 20)]));
    const before = gateway.snapshot();
    const revisions = await sendMany(3_000, 16);
    const counts = countBy(revisions, (r) => r);
    // Random draws would give sd ≈ 27 requests (0.9 pp) per revision; ±3 pp is more than 3 sd of
    // that, and the gateway's split sequence is far tighter than random.
    for (const [revision, weight] of [
      ['1', 50],
      ['2', 30],
      ['3', 20],
    ] as const) {
      const share = ((counts.get(revision) ?? 0) / revisions.length) * 100;
      assert.ok(
        Math.abs(share - weight) < 3,
        `revision ${revision}: ${share.toFixed(2)}% for weight ${weight}: ${JSON.stringify([...counts])}`,
      );
    }
    const snapshot = gateway.snapshot();
    assert.deepEqual(snapshot.latencyBuckets, LATENCY_BUCKETS);
    assert.ok(snapshot.time >= before.time);
    for (const revision of ['1', '2', '3']) {
      const was = before.revisions.find((r) => r.revision === revision)?.count ?? 0;
      const now = snapshot.revisions.find(
        (r) => r.revision === revision && r.environment === ENV && r.deployment === DEPLOYMENT,
      )!;
      assert.equal(now.count - was, counts.get(revision), `revision ${revision} in the snapshot`);
      assert.equal(now.codes['200'], now.count);
      assert.equal(now.buckets.length, LATENCY_BUCKETS.length + 1);
      assert.equal(now.buckets.at(-1), now.count, 'the last bucket is +Inf and holds every response');
      assert.ok(
        now.buckets.every((n, i) => i === 0 || n >= now.buckets[i - 1]!),
        'buckets are cumulative',
      );
      assert.ok(now.latencySum > 0);
    }
    assert.deepEqual(snapshot.shadows, []);
  });

  test('a route whose weights are all 0 answers 503, counted under revision ""', async () => {
    gateway.setTable(oneRoute(2, [rev(1, 0), rev(2, 0)]));
    const res = await http(`${gateway.url}${PATH}`, { body: inferBody() });
    assert.equal(res.status, 503);
    const unassigned = gateway.snapshot().revisions.find((r) => r.revision === '');
    assert.ok(unassigned && unassigned.codes['503']! >= 1, JSON.stringify(gateway.snapshot().revisions));
  });
});

describe('matches', () => {
  test('header and cookie matches win over the weights, including for a weight-0 revision', async () => {
    gateway.setTable(
      oneRoute(3, [rev(1, 100), rev(2, 0), rev(3, 0), target(4, 0, [])], {
        matches: [
          { header: { name: 'X-Variant', value: 'b' }, revision: 2 },
          { cookie: { name: 'variant', value: 'c' }, revision: 3 },
          // Revision 4 has no replica: its match is dropped and such requests take the split.
          { header: { name: 'x-variant', value: 'd' }, revision: 4 },
        ],
      }),
    );
    const expectations: [Record<string, string>, string][] = [
      [{}, '1'],
      [{ 'x-variant': 'b' }, '2'],
      [{ 'X-VARIANT': 'b' }, '2'],
      [{ 'x-variant': 'B' }, '1'],
      [{ 'x-variant': 'd' }, '1'],
      [{ cookie: 'variant=c' }, '3'],
      [{ cookie: 'session=1; variant="c"; theme=dark' }, '3'],
      [{ cookie: 'Variant=c' }, '1'],
      [{ cookie: 'variant=cc' }, '1'],
      // Rules are tried in table order: the header rule comes first.
      [{ 'x-variant': 'b', cookie: 'variant=c' }, '2'],
    ];
    for (const [headers, expected] of expectations) {
      for (let i = 0; i < 5; i++) assert.equal((await send(headers)).revision, expected, JSON.stringify(headers));
    }
  });
});

describe('sticky assignment', () => {
  for (const kind of ['header', 'cookie'] as const) {
    test(`by ${kind}: the same key always gets the same revision, different keys spread by weight`, async () => {
      gateway.setTable(
        oneRoute(kind === 'header' ? 4 : 5, [rev(1, 50), rev(2, 50)], {
          sticky: kind === 'header' ? { header: 'X-User' } : { cookie: 'uid' },
        }),
      );
      const headersFor = (key: string): Record<string, string> =>
        kind === 'header' ? { 'x-user': key } : { cookie: `theme=dark; uid=${key}` };
      const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
      const first = await sendMany(keys.length, 8, (i) => headersFor(keys[i]!));
      const again = await sendMany(keys.length * 3, 8, (i) => headersFor(keys[i % keys.length]!));
      again.forEach((revision, i) =>
        assert.equal(revision, first[i % keys.length], `key ${keys[i % keys.length]} moved`),
      );
      // 200 keys at 50/50: sd ≈ 7 keys; 60–140 is more than 5 sd.
      const onTwo = first.filter((r) => r === '2').length;
      assert.ok(onTwo > 60 && onTwo < 140, `${onTwo} of 200 keys on revision 2`);
      // Requests without the key still get the split.
      const keyless = countBy(await sendMany(100, 8), (r) => r);
      assert.ok((keyless.get('1') ?? 0) > 20 && (keyless.get('2') ?? 0) > 20, JSON.stringify([...keyless]));
    });
  }

  test('with the same weights a new table keeps every key where it was', async () => {
    const rules = { sticky: { header: 'x-user' } };
    gateway.setTable(oneRoute(6, [rev(1, 70), rev(2, 30)], rules));
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const before = await sendMany(keys.length, 4, (i) => ({ 'x-user': keys[i]! }));
    gateway.setTable(oneRoute(7, [rev(1, 70), rev(2, 30)], rules));
    assert.deepEqual(await sendMany(keys.length, 4, (i) => ({ 'x-user': keys[i]! })), before);
    // Raising the second revision's weight only moves keys from the first to the second.
    gateway.setTable(oneRoute(8, [rev(1, 40), rev(2, 60)], rules));
    const raised = await sendMany(keys.length, 4, (i) => ({ 'x-user': keys[i]! }));
    raised.forEach((revision, i) => {
      if (before[i] === '2') assert.equal(revision, '2', keys[i]);
    });
  });
});

describe('assignment()', () => {
  test('names the revision of a recent request, by its own or a generated request id', async () => {
    gateway.setTable(oneRoute(9, [rev(1, 50), rev(2, 50)]));
    const served = await send({ 'x-request-id': 'ab-test-1' });
    assert.equal(served.requestId, 'ab-test-1');
    assert.deepEqual(gateway.assignment('ab-test-1'), {
      environment: ENV,
      deployment: DEPLOYMENT,
      revision: Number(served.revision),
    });
    const generated = await send();
    assert.match(generated.requestId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(gateway.assignment(generated.requestId), {
      environment: ENV,
      deployment: DEPLOYMENT,
      revision: Number(generated.revision),
    });
    assert.equal(gateway.assignment('never-sent'), undefined);
  });

  test('match routes are logged; a plain one-revision route is not', async () => {
    gateway.setTable(
      oneRoute(10, [rev(1, 100), rev(2, 0)], { matches: [{ header: { name: 'x-variant', value: 'b' }, revision: 2 }] }),
    );
    await send({ 'x-request-id': 'matched', 'x-variant': 'b' });
    await send({ 'x-request-id': 'unmatched' });
    assert.equal(gateway.assignment('matched')?.revision, 2);
    assert.equal(gateway.assignment('unmatched')?.revision, 1);
    gateway.setTable(oneRoute(11, [rev(1, 100)]));
    await send({ 'x-request-id': 'plain' });
    assert.equal(gateway.assignment('plain'), undefined);
  });

  test('the log is bounded: the oldest ids are forgotten', async () => {
    const small = new GatewayServer({ port: 0, assignmentLogSize: 3, shutdownGraceMs: 1_000 });
    await small.start();
    try {
      small.setTable(oneRoute(1, [rev(1, 50), rev(2, 50)]));
      for (let i = 0; i < 5; i++) {
        const res = await http(`${small.url}${PATH}`, {
          body: inferBody(),
          headers: { 'content-type': 'application/json', 'x-request-id': `r${i}` },
        });
        assert.equal(res.status, 200);
      }
      assert.deepEqual(
        [0, 1, 2, 3, 4].map((i) => small.assignment(`r${i}`) !== undefined),
        [false, false, true, true, true],
      );
    } finally {
      await small.stop();
    }
  });
});
