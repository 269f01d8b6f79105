/**
 * Helpers for the runtime tests: small application replicas (`node -e` scripts), workload
 * builders, waiting for a status, the per-file set-up of the local-runtime tests, and an
 * independent view of which replica processes exist — read from /proc, not from the runtime under
 * test, so "no orphans" is checked against the kernel's truth.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach } from 'node:test';
import { LocalRuntime, type LocalRuntimeOptions } from '../../src/runtime/local/local-runtime.js';
import type { ProbeSpec, Runtime, Workload, WorkloadKey, WorkloadStatus } from '../../src/runtime/runtime.js';
import { eventually } from './eventually.js';

/** Fast probes so tests observe transitions in tens of milliseconds. */
export const FAST_PROBE: ProbeSpec = { path: '', intervalMs: 50, timeoutMs: 1_000, retries: 3, startupGraceMs: 10_000 };

/**
 * An HTTP replica on $PORT: `/ready` and `/live` answer 200 unless $LIVE_STATUS says otherwise;
 * it prints one line at start and exits 0 on SIGTERM after closing its server.
 */
export const HTTP_APP = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const status = req.url === '/live' ? Number(process.env.LIVE_STATUS || 200) : 200;
  res.writeHead(status, { connection: 'close' }).end(req.url);
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('app listening on ' + process.env.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** An HTTP replica that also prints numbered 100-byte lines, two every 2 ms (≈ 100 KB/s), for log rotation. */
export const CHATTY_APP = `${HTTP_APP}
let n = 0;
const line = () => 'line ' + String(n++).padStart(8, '0') + ' ' + 'x'.repeat(85) + '\\n';
setInterval(() => { process.stdout.write(line()); process.stdout.write(line()); }, 2);
`;

/** A command workload running `script` with node. */
export function appWorkload(
  key: WorkloadKey,
  replicas: number,
  script: string,
  extra: Partial<Workload> = {},
): Workload {
  return {
    key,
    replicas,
    command: { argv: [process.execPath, '-e', script] },
    readiness: { ...FAST_PROBE, path: '/ready' },
    liveness: { ...FAST_PROBE, path: '/live' },
    ...extra,
  };
}

/** A model workload serving `artifactPath` with `wharf serve-model`. */
export function modelWorkload(
  key: WorkloadKey,
  replicas: number,
  artifactPath: string,
  digest = sha256Digest(artifactPath),
): Workload {
  return {
    key,
    replicas,
    model: { name: 'readmission', version: '1.0.0', artifactPath, digest },
    readiness: { ...FAST_PROBE },
    liveness: { ...FAST_PROBE },
  };
}

/** `sha256:<hex>` of a file. */
export function sha256Digest(path: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}

/** True when `pid` no longer runs (missing, or a zombie waiting to be reaped). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * Pids of live processes whose environment has WHARF_WORKLOAD starting with `prefix` (the local
 * runtime sets it on every replica), found by scanning /proc.
 */
export function replicaProcesses(prefix: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${name}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (environ.split('\0').some((v) => v.startsWith(`WHARF_WORKLOAD=${prefix}`)) && !processGone(Number(name)))
      found.push(Number(name));
  }
  return found;
}

/** SIGKILLs every replica process matching `prefix` (cleanup after a failed test); returns their pids. */
export function killReplicaProcesses(prefix: string): number[] {
  const pids = replicaProcesses(prefix);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * A probe for `eventually`: `runtime.observe(key)` once `predicate` holds; until then it fails
 * with the last status seen.
 *
 * @example await eventually(statusWhere(r, k, (s) => s.readyReplicas === 2), { timeoutMs: 15_000, message: 'two ready' });
 */
export function statusWhere(
  runtime: Pick<Runtime, 'observe'>,
  key: WorkloadKey,
  predicate: (s: WorkloadStatus) => boolean,
): () => Promise<WorkloadStatus> {
  return async () => {
    const last = await runtime.observe(key);
    assert.ok(last && predicate(last), `last status: ${JSON.stringify(last)}`);
    return last;
  };
}

/** What {@link localRuntimeHarness} gives a test file. */
export interface LocalRuntimeHarness {
  /** The file's temporary directory, made at once (removed after the file). */
  readonly root: string;
  /**
   * A runtime with the file's defaults and, unless `options` names one, a fresh state directory
   * under {@link root}; it is closed (its replicas stopped) after the test.
   */
  runtime(options?: Partial<LocalRuntimeOptions>): LocalRuntime;
  /** Closes `runtime`, made by the test itself without the file's defaults, after the test too. */
  closeAfterTest(runtime: LocalRuntime): LocalRuntime;
}

/**
 * The set-up every local-runtime test file shares; call it once at module level. It makes a
 * temporary root at once (not in a `before` hook: node:test does not order a file's top-level
 * hooks, so the file's own `before` could run first) and registers node:test hooks: remove the
 * root after the file, and after every test close the runtimes it made, then require that /proc
 * shows no replica process of `env` (every key of the file must use that environment) —
 * leftovers are killed and fail the test.
 */
export function localRuntimeHarness(env: string, defaults: Partial<LocalRuntimeOptions> = {}): LocalRuntimeHarness {
  const root = mkdtempSync(join(tmpdir(), `wharf-${env}-`));
  let stateDirs = 0;
  const opened: LocalRuntime[] = [];
  process.on('exit', () => killReplicaProcesses(`${env}/`));
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((r) => r.close()));
    // Give the closed runtimes' replicas time to exit; any still there are killed and fail the test below.
    await eventually(() => replicaProcesses(`${env}/`).length === 0, { timeoutMs: 10_000, intervalMs: 20 }).catch(
      () => undefined,
    );
    assert.deepEqual(killReplicaProcesses(`${env}/`), [], 'replica processes left behind after the test');
  });
  return {
    root,
    runtime(options = {}) {
      const r = new LocalRuntime({ stateDir: join(root, `state-${++stateDirs}`), ...defaults, ...options });
      opened.push(r);
      return r;
    },
    closeAfterTest(r) {
      opened.push(r);
      return r;
    },
  };
}
