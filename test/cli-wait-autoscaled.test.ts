/**
 * `--wait` (cli/wait.ts) against a stub API: an autoscaled deployment runs the autoscaler's size
 * (`status.desiredReplicas`), not the spec's `configuration.replicas`, and `--wait` must return
 * once that size is ready (it used to print `5/5 replicas ready` and then time out).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { waitForDeployment } from '../src/cli/wait.js';

let server: Server;
let document: Record<string, unknown> = {};

before(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.WHARF_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const autoscaled = (ready: number, desired: number) => ({
  name: 'risk',
  environment: 'staging',
  revision: 5,
  configuration: { replicas: 2, scaling: { min: 0, max: 6 } },
  status: { phase: 'running', conditions: [], readyReplicas: ready, desiredReplicas: desired, observedRevision: 5 },
});

test("--wait returns once the autoscaler's size is ready, above the spec's replicas", async () => {
  document = autoscaled(5, 5);
  const d = await waitForDeployment('staging', 'risk', 3_000);
  assert.equal(d.status.readyReplicas, 5);
});

test("--wait keeps waiting while fewer than the autoscaler's size are ready, even at the spec's count", async () => {
  document = autoscaled(2, 5);
  await assert.rejects(
    waitForDeployment('staging', 'risk', 1_000),
    /timed out after 1 s waiting for risk: 2\/5 replicas ready/,
  );
});
