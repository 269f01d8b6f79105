// The gateway's admin listener (what `wharf up` asks its gateway process) and the control plane's
// client of it: the revision that served a request id, ejection events after a seq (starting over
// when the gateway process is a new one), and an unreachable gateway reported as unavailable.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UnavailableError } from '../src/core/errors.js';
import { GatewayAdminClient } from '../src/gateway/admin-client.js';
import { GatewayAdminServer } from '../src/gateway/admin-server.js';
import type { EjectionEvent } from '../src/protocol/gateway-snapshot.js';
import { deadUrl, FakeUpstream, gatewayFixtures, inferBody, route, table, target } from './support/gateway.js';

const fixtures = gatewayFixtures();

test('assignments of a split route are answered by request id; unknown ids are undefined', async () => {
  const upstream = fixtures.stopAfter(
    new FakeUpstream((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')),
  );
  const url = await upstream.start();
  const gateway = await fixtures.newGateway();
  gateway.setTable(
    table(1, [route('production', 'risk', [target(1, 50, [{ id: 'a', url }]), target(2, 50, [{ id: 'b', url }])])]),
  );
  const admin = new GatewayAdminServer(gateway);
  await admin.start(0);
  try {
    const client = new GatewayAdminClient(() => admin.url);
    const res = await fetch(`${gateway.url}/production/risk/v2/models/readmission/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req/1 é' },
      body: inferBody(),
    });
    await res.arrayBuffer();
    const revision = Number(res.headers.get('x-wharf-revision'));
    assert.deepEqual(await client.assignment('req/1 é'), { environment: 'production', deployment: 'risk', revision });
    assert.equal(await client.assignment('never-seen'), undefined);
  } finally {
    await admin.stop();
  }
});

test('ejections after a seq; a restarted gateway (new boot) is read from its start', async () => {
  const event = (seq: number): EjectionEvent => ({
    seq,
    time: 1,
    environment: 'e',
    deployment: 'd',
    revision: 1,
    backend: 'r',
    type: 'ejected',
    reason: 'x',
  });
  let log = [event(1), event(2), event(3)];
  const source = { assignment: () => undefined, ejectionsSince: (seq: number) => log.filter((e) => e.seq > seq) };
  let admin = new GatewayAdminServer(source);
  await admin.start(0);
  const client = new GatewayAdminClient(() => admin.url);
  assert.deepEqual(
    (await client.ejectionsSince(1)).map((e) => e.seq),
    [2, 3],
  );
  await admin.stop();
  // The gateway process was restarted: its seq starts over, below the caller's.
  log = [event(1)];
  admin = new GatewayAdminServer(source);
  await admin.start(0);
  try {
    assert.deepEqual(
      (await client.ejectionsSince(3)).map((e) => e.seq),
      [1],
      "the new process's events, from its first",
    );
    assert.deepEqual(await client.ejectionsSince(1), []);
  } finally {
    await admin.stop();
  }
});

test("a gateway restarted with no ejections yet: its later events are read from its first, not after the caller's old seq", async () => {
  const event = (seq: number): EjectionEvent => ({
    seq,
    time: 1,
    environment: 'e',
    deployment: 'd',
    revision: 1,
    backend: 'r',
    type: 'ejected',
    reason: 'x',
  });
  let log = [event(1), event(2), event(3)];
  const source = { assignment: () => undefined, ejectionsSince: (seq: number) => log.filter((e) => e.seq > seq) };
  let admin = new GatewayAdminServer(source);
  await admin.start(0);
  const client = new GatewayAdminClient(() => admin.url);
  assert.deepEqual(
    (await client.ejectionsSince(0)).map((e) => e.seq),
    [1, 2, 3],
  );
  await admin.stop();
  log = [];
  admin = new GatewayAdminServer(source);
  await admin.start(0);
  try {
    // The recorder got nothing from the new process, so it still holds seq 3 of the old one.
    assert.deepEqual(await client.ejectionsSince(3), []);
    log.push(event(1), event(2));
    assert.deepEqual(
      (await client.ejectionsSince(3)).map((e) => e.seq),
      [1, 2],
      "the new process's first events",
    );
    assert.deepEqual(await client.ejectionsSince(2), []);
  } finally {
    await admin.stop();
  }
});

test('a control plane that adopts a running gateway does not read the ejections an earlier one recorded', async () => {
  const event = (seq: number): EjectionEvent => ({
    seq,
    time: 1,
    environment: 'e',
    deployment: 'd',
    revision: 1,
    backend: 'r',
    type: 'ejected',
    reason: 'x',
  });
  const log = [event(1), event(2)];
  const source = { assignment: () => undefined, ejectionsSince: (seq: number) => log.filter((e) => e.seq > seq) };
  const admin = new GatewayAdminServer(source);
  await admin.start(0);
  const dir = await mkdtemp(join(tmpdir(), 'wharf-admin-'));
  try {
    const ejectionsReadFile = join(dir, 'ejections-read.json');
    const first = new GatewayAdminClient(() => admin.url, { ejectionsReadFile });
    assert.deepEqual(
      (await first.ejectionsSince(0)).map((e) => e.seq),
      [1, 2],
    );
    assert.deepEqual(await first.ejectionsSince(2), [], 'asking after 2 says 1 and 2 are recorded');
    log.push(event(3));
    // The control plane restarts (its recorder starts from 0) and adopts the same gateway process.
    const next = new GatewayAdminClient(() => admin.url, { ejectionsReadFile });
    assert.deepEqual(
      (await next.ejectionsSince(0)).map((e) => e.seq),
      [3],
      'only what the earlier one had not recorded',
    );
    // A gateway process that is not the recorded one is read from its start.
    const other = new GatewayAdminServer(source);
    await other.start(0);
    try {
      assert.deepEqual(
        (await new GatewayAdminClient(() => other.url, { ejectionsReadFile }).ejectionsSince(0)).map((e) => e.seq),
        [1, 2, 3],
      );
    } finally {
      await other.stop();
    }
  } finally {
    await admin.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a gateway that does not answer is unavailable, not unknown', async () => {
  const client = new GatewayAdminClient(() => undefined);
  await assert.rejects(client.assignment('x'), UnavailableError);
  const dead = await deadUrl();
  await assert.rejects(
    new GatewayAdminClient(() => dead).ejectionsSince(0),
    (e: Error) => e instanceof UnavailableError && /ECONNREFUSED/.test(e.message),
  );
});
