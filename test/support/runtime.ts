/**
 * Helpers for the runtime tests: small application replicas (`node -e` scripts), workload
 * builders, and an independent view of which replica processes exist — read from /proc, not from
 * the runtime under test, so "no orphans" is checked against the kernel's truth.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { ProbeSpec, Workload, WorkloadKey } from '../../src/runtime/runtime.js';

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
export function appWorkload(key: WorkloadKey, replicas: number, script: string, extra: Partial<Workload> = {}): Workload {
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
export function modelWorkload(key: WorkloadKey, replicas: number, artifactPath: string, digest = sha256Digest(artifactPath)): Workload {
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
    if (environ.split('\0').some((v) => v.startsWith(`WHARF_WORKLOAD=${prefix}`)) && !processGone(Number(name))) found.push(Number(name));
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
