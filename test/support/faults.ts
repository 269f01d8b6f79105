/**
 * What the fault tests (issue 17) share: a `wharf up` process with the demo model pushed and
 * deployed, a background load that counts the requests that fail, the peak memory of a process,
 * and the `FIGURE:` lines that report each measurement beside its goal.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDemoModels } from '../../src/demo/write-demo-models.js';
import { READMISSION_BODY } from './control-plane-e2e.js';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';
import { adminTokenOf, startWharf, untilWharfUp, type WharfProcess } from './processes.js';
import { pidsWithArg } from './process-scan.js';

/**
 * Prints one measurement as `FIGURE: <name> = <value> <unit> (goal: <goal>)`, the line the lead
 * collects from the test output; returns the value so a test can assert on it too.
 */
export function figure(name: string, value: number, unit: string, goal: string): number {
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1);
  process.stdout.write(`FIGURE: ${name} = ${shown} ${unit} (goal: ${goal})\n`);
  return value;
}

/** The peak resident memory (VmHWM) of `pid` in MiB, or undefined once it exited. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A `wharf up` process serving model `risk` 1.0.0 in staging. */
export interface FaultStack {
  readonly home: string;
  readonly apiPort: number;
  readonly gatewayPort: number;
  readonly api: string;
  readonly gateway: string;
  readonly token: string;
  /** The current `wharf up` process (replaced by {@link FaultStack.restart}). */
  readonly up: WharfProcess;
  /** The demo readmission model's ONNX file, for pushes. */
  readonly model: Buffer;
  /** Pushes `model` as version `version` of model `risk`; resolves with the status (0: no answer). */
  push(version: string): Promise<number>;
  /** The pid of the gateway process `wharf up` supervises. */
  gatewayPid(): number;
  /** A JSON call to the API as the admin; rejects when no answer comes (the control plane is down). */
  call(path: string, init?: { method?: string; json?: unknown }): Promise<{ status: number; body: unknown }>;
  /** One inference through the gateway; resolves with the status (0: no answer). */
  infer(name?: string): Promise<number>;
  /** `kill -9` of the control plane (not of its gateway or replicas). */
  kill(): Promise<void>;
  /** Starts `wharf up` again on the same home and ports. */
  restart(): Promise<void>;
  /** SIGTERM, then waits until no process of the home is left; removes the home. */
  stop(): Promise<void>;
}

/** Starts `wharf up` in a fresh home, pushes `risk` 1.0.0 and deploys it with `replicas` in staging. */
export async function startFaultStack(
  prefix: string,
  {
    replicas = 1,
    extraArgs = [],
    parent = tmpdir(),
  }: { replicas?: number; extraArgs?: string[]; /** Where the home is made. */ parent?: string } = {},
): Promise<FaultStack> {
  const home = await mkdtemp(join(parent, prefix));
  const [apiPort, gatewayPort] = [await freePort(), await freePort()];
  const args = ['up', '--home', home, '--port', String(apiPort), '--gateway-port', String(gatewayPort), '--no-demo'];
  let up = startWharf([...args, ...extraArgs]);
  const urls = await untilWharfUp(up, { timeoutMs: 60_000 });
  const token = adminTokenOf(home);
  const headers = { authorization: `Bearer ${token}` };
  const call: FaultStack['call'] = async (path, init = {}) => {
    const r = await fetch(`${urls.api}${path}`, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers: { ...headers, 'content-type': 'application/json' },
      ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    return { status: r.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  const model = await readFile((await writeDemoModels(join(home, 'src-models'))).readmission);
  const push = async (version: string): Promise<number> => {
    try {
      const r = await fetch(`${urls.api}/api/v1/models/risk/versions?version=${version}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body: model,
        signal: AbortSignal.timeout(10_000),
      });
      await r.arrayBuffer();
      return r.status;
    } catch {
      return 0;
    }
  };
  const pushed = await push('1.0.0');
  if (pushed !== 201) throw new Error(`model push answered ${pushed}`);
  const created = await call('/api/v1/deployments', {
    json: {
      name: 'risk',
      environment: 'staging',
      model: { name: 'risk', version: '1.0.0' },
      configuration: { replicas },
    },
  });
  if (created.status !== 201) throw new Error(`deploy answered ${created.status}: ${JSON.stringify(created.body)}`);
  const infer = async (name = 'risk'): Promise<number> => {
    try {
      const r = await fetch(`${urls.gateway}/staging/${name}/v2/models/${name}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: READMISSION_BODY,
        signal: AbortSignal.timeout(10_000),
      });
      await r.arrayBuffer();
      return r.status;
    } catch {
      return 0;
    }
  };
  await eventually(async () => ((await infer()) === 200 ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 100,
    message: 'the gateway to serve the deployment',
  });
  const gatewayPid = (): number =>
    (JSON.parse(readFileSync(join(home, 'gateway', 'gateway.json'), 'utf8')) as { pid: number }).pid;
  return {
    home,
    apiPort,
    gatewayPort,
    api: urls.api,
    gateway: urls.gateway,
    token,
    get up() {
      return up;
    },
    gatewayPid,
    model,
    push,
    call,
    infer,
    async kill() {
      up.child.kill('SIGKILL');
      await up.exited;
    },
    async restart() {
      up = startWharf(args);
      await untilWharfUp(up, { timeoutMs: 60_000 });
    },
    async stop() {
      if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGTERM');
      await up.exited;
      // A killed control plane leaves its gateway and replicas: a clean start and stop adopts them.
      await eventually(async () => (pidsWithArg(home).length === 0 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
        message: 'no process of this home left',
      });
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Inferences sent back to back by `workers` loops until {@link ServingLoad.stop}; counts each outcome. */
export class ServingLoad {
  ok = 0;
  failed = 0;
  /** Statuses of the failed requests (0: no answer), for the assertion message. */
  readonly failures: number[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(send: () => Promise<number>, workers = 2) {
    this.loops = Array.from({ length: workers }, async () => {
      while (this.running) {
        const status = await send();
        if (status === 200) this.ok += 1;
        else {
          this.failed += 1;
          if (this.failures.length < 20) this.failures.push(status);
        }
      }
    });
  }

  /** Stops the loops and waits for the requests in flight. */
  async stop(): Promise<this> {
    this.running = false;
    await Promise.all(this.loops);
    return this;
  }
}
