/**
 * What the end-to-end tests over a real control plane (SQLite, local runtime, gateway process)
 * share: starting one in a temp home with the demo readmission model pushed as the versions a test
 * asks for, checking at the end that no replica outlived it, and calling its API and gateway.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment } from '../../src/core/resources.js';
import { writeDemoModels } from '../../src/demo/write-demo-models.js';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from '../../src/server/control-plane.js';
import { pidsWithArg } from './process-scan.js';
import { eventually } from './eventually.js';

/** An inference body for the demo readmission model (16 features). */
export const READMISSION_BODY = JSON.stringify({
  inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: new Array(16).fill(0.1) }],
});

/** A running control plane for one test file, with helpers; `stop()` also checks for orphans. */
export interface E2eControlPlane {
  readonly cp: ControlPlane;
  readonly home: string;
  /** A JSON call to the API as alice (a user token), or `as` another token (see {@link E2eControlPlane.tokenFor}). */
  api(
    path: string,
    init?: RequestInit & { json?: unknown; as?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** The admin token `wharf up` wrote to the home's credentials file. */
  readonly adminToken: string;
  /** A token (every scope, 1 h) acting as user `name` (`user:<name>`), minted in the store. */
  tokenFor(name: string): Promise<string>;
  /** alice's token (every scope), which {@link E2eControlPlane.api} sends by default. */
  readonly aliceToken: string;
  /** Environment for a CLI process: this control plane's URL and alice's token (or `token`). */
  cliEnv(token?: string): Record<string, string>;
  get(environment: string, name: string): Promise<Deployment>;
  /** POST an inference through the gateway (`suffix` e.g. `~preview`). */
  infer(environment: string, name: string, suffix?: string): Promise<Response>;
  /** Polls the deployment until `ok`; fails naming `what` after `ms`. */
  settled(
    environment: string,
    name: string,
    ok: (d: Deployment) => boolean,
    what: string,
    ms?: number,
  ): Promise<Deployment>;
  /** Stops it and asserts that no replica process is left. */
  stop(): Promise<void>;
}

/** Starts a control plane in a fresh home and pushes model `risk` at each of `versions` (version → labels). */
export async function startE2eControlPlane(
  prefix: string,
  versions: Record<string, Record<string, string>>,
  options: Partial<ControlPlaneOptions> = {},
): Promise<E2eControlPlane> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  const cp = await startControlPlane({ home, host: '127.0.0.1', port: 0, gatewayPort: 0, log: () => {}, ...options });
  const file = await readFile((await writeDemoModels(join(home, 'src-models'))).readmission);
  for (const [version, labels] of Object.entries(versions)) {
    await cp.registry.pushVersion(
      { model: 'risk', version, filename: 'risk.onnx', labels },
      (async function* () {
        yield file;
      })(),
    );
  }
  const adminToken = cp.adminToken;
  assert.ok(adminToken !== undefined, 'the control plane wrote an admin token to its credentials file');
  const aliceToken = await userToken(cp, 'alice');
  const api: E2eControlPlane['api'] = (path, { as, ...init } = {}) =>
    fetch(`${cp.apiUrl}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${as ?? aliceToken}` },
      ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  const get = async (environment: string, name: string) =>
    (await api(`/api/v1/environments/${environment}/deployments/${name}`)).body as unknown as Deployment;
  return {
    cp,
    home,
    api,
    adminToken,
    aliceToken,
    tokenFor: (name) => userToken(cp, name),
    cliEnv: (token = aliceToken) => ({ WHARF_URL: cp.apiUrl, WHARF_TOKEN: token }),
    get,
    infer: (environment, name, suffix = '') =>
      fetch(`${cp.gatewayUrl}/${environment}/${name}${suffix}/v2/models/${name}/infer`, {
        method: 'POST',
        body: READMISSION_BODY,
        headers: { 'content-type': 'application/json' },
      }),
    settled: (environment, name, ok, what, ms = 60_000) =>
      eventually(
        async () => {
          const d = await get(environment, name);
          return ok(d) ? d : undefined;
        },
        { timeoutMs: ms, intervalMs: 100, message: what },
      ),
    async stop() {
      await cp.stop();
      assert.deepEqual(pidsWithArg(home), [], 'no replica outlives the control plane');
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** A token (every scope, valid 1 h) acting as user `name` (`user:<name>`), minted directly in the control plane's store. */
export async function userToken(cp: ControlPlane, name: string): Promise<string> {
  const { token } = await cp.tokens.mint({
    owner: `user:${name}`,
    ownerName: name,
    name: `test token of ${name}`,
    scopes: ['*'],
    expiresAt: new Date(Date.now() + 3_600_000),
  });
  return token;
}
