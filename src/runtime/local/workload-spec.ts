/**
 * The local runtime's reading of a {@link Workload}: validation, what may change under the same
 * key, and the command line and environment of a replica.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { parseCpu, parseMemory } from '../../core/quantities.js';
import { type ProbeSpec, type StartupProbeSpec, type Workload, workloadKeyString } from '../runtime.js';
import { MODEL_PROBE_PATHS } from '../../protocol/oip-paths.js';
import { resourceEnv, resourceServerArgs } from './resource-policy.js';

/**
 * The variables a replica inherits from the control plane. Everything else is withheld: the
 * control plane's environment may hold its own credentials (database URL, signing keys), which a
 * replica must only get when a workload asks for them in `env`.
 */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT'] as const;

/** Throws InvalidArgumentError naming the first field that breaks a rule. */
export function validateWorkload(w: Workload): void {
  const fail = (field: string, rule: string): never => {
    throw new InvalidArgumentError(`workload ${keyText(w)}: ${field}: ${rule}`);
  };
  if (!w.key || typeof w.key.environment !== 'string' || w.key.environment === '')
    fail('key.environment', 'must be a non-empty string');
  if (typeof w.key.deployment !== 'string' || w.key.deployment === '')
    fail('key.deployment', 'must be a non-empty string');
  if (!Number.isInteger(w.key.revision) || w.key.revision < 0) fail('key.revision', 'must be a non-negative integer');
  if (!Number.isInteger(w.replicas) || w.replicas < 0)
    fail('replicas', `must be a non-negative integer, got ${String(w.replicas)}`);
  if ((w.model === undefined) === (w.command === undefined))
    fail('model/command', 'exactly one of model and command must be set');
  if (w.model) {
    for (const f of ['name', 'version', 'artifactPath', 'digest'] as const) {
      if (typeof w.model[f] !== 'string' || w.model[f] === '') fail(`model.${f}`, 'must be a non-empty string');
    }
  }
  if (
    w.command &&
    (!Array.isArray(w.command.argv) || w.command.argv.length === 0 || w.command.argv.some((a) => typeof a !== 'string'))
  ) {
    fail('command.argv', 'must be a non-empty array of strings');
  }
  const serves = w.serves ?? 'http';
  if (serves !== 'http' && serves !== 'none') fail('serves', "must be 'http' or 'none'");
  // A worker (serves none) has no HTTP probes: its probes' paths are never requested.
  if (!w.model && serves === 'http' && (!w.readiness.path || !w.liveness.path))
    fail('readiness.path/liveness.path', 'required for a command workload that serves http');
  if (w.model && serves === 'none') fail('serves', "a model workload serves http; 'none' is for command workloads");
  if (w.bundle) {
    if (!w.command) fail('bundle', 'needs a command to run inside it');
    for (const f of ['artifactPath', 'digest'] as const) {
      if (typeof w.bundle[f] !== 'string' || w.bundle[f] === '') fail(`bundle.${f}`, 'must be a non-empty string');
    }
  }
  if (
    w.healthCommand &&
    (!Array.isArray(w.healthCommand.argv) ||
      w.healthCommand.argv.length === 0 ||
      w.healthCommand.argv.some((a) => typeof a !== 'string'))
  )
    fail('healthCommand.argv', 'must be a non-empty array of strings');
  if (
    w.terminationGracePeriodMs !== undefined &&
    (!Number.isInteger(w.terminationGracePeriodMs) || w.terminationGracePeriodMs < 0)
  )
    fail('terminationGracePeriodMs', 'must be a non-negative integer');
  for (const [name, probe] of [
    ['readiness', w.readiness],
    ['liveness', w.liveness],
  ] as const) {
    for (const f of ['intervalMs', 'timeoutMs', 'retries'] as const) {
      if (!Number.isInteger(probe[f]) || probe[f] < 1)
        fail(`${name}.${f}`, `must be a positive integer, got ${String(probe[f])}`);
    }
    if (!Number.isInteger(probe.startupGraceMs) || probe.startupGraceMs < 0)
      fail(`${name}.startupGraceMs`, 'must be a non-negative integer');
    if (probe.path && !probe.path.startsWith('/')) fail(`${name}.path`, 'must start with /');
  }
  validateStartup(w, fail);
  validateDependencies(w, fail);
  validateResources(w, fail);
}

type Fail = (field: string, rule: string) => never;

const positiveInteger = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1;

function validateStartup(w: Workload, fail: Fail): void {
  const s = w.startup;
  if (s === undefined) return;
  for (const f of ['intervalMs', 'probeTimeoutMs', 'timeoutMs'] as const) {
    if (!positiveInteger(s[f])) fail(`startup.${f}`, `must be a positive integer, got ${String(s[f])}`);
  }
  if (typeof s.path !== 'string') fail('startup.path', 'must be a string');
  if (s.path && !s.path.startsWith('/')) fail('startup.path', 'must start with /');
  if (!s.path && !w.model && w.serves !== 'none') fail('startup.path', 'required for a command workload');
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function validateDependencies(w: Workload, fail: Fail): void {
  if (w.dependencies === undefined) return;
  if (!Array.isArray(w.dependencies)) fail('dependencies', 'must be an array');
  const names = new Set<string>();
  w.dependencies.forEach((d, i) => {
    const at = `dependencies[${i}]`;
    if (typeof d.name !== 'string' || !DNS_LABEL.test(d.name))
      fail(`${at}.name`, `must be a DNS label (lowercase letters, digits, '-'), got ${JSON.stringify(d.name)}`);
    if (names.has(d.name)) fail(`${at}.name`, `must be unique, ${d.name} appears twice`);
    names.add(d.name);
    if ((d.http === undefined) === (d.tcp === undefined)) fail(`${at}`, 'exactly one of http and tcp must be set');
    if (d.http && !/^https?:\/\/[^/]+/.test(String(d.http.url)))
      fail(`${at}.http.url`, `must be an http(s) URL, got ${JSON.stringify(d.http.url)}`);
    if (d.tcp) {
      if (typeof d.tcp.host !== 'string' || d.tcp.host === '') fail(`${at}.tcp.host`, 'must be a non-empty string');
      if (!Number.isInteger(d.tcp.port) || d.tcp.port < 1 || d.tcp.port > 65535)
        fail(`${at}.tcp.port`, `must be an integer from 1 to 65535, got ${String(d.tcp.port)}`);
    }
    for (const f of ['intervalMs', 'timeoutMs', 'retries'] as const) {
      if (!positiveInteger(d[f])) fail(`${at}.${f}`, `must be a positive integer, got ${String(d[f])}`);
    }
  });
}

function validateResources(w: Workload, fail: Fail): void {
  const r = w.resources;
  if (r === undefined) return;
  const quantity = (field: string, value: string | undefined, parse: (q: string) => number): number | undefined => {
    if (value === undefined) return undefined;
    const n = typeof value === 'string' ? parse(value) : Number.NaN;
    if (!Number.isFinite(n) || n <= 0) fail(field, `must be a positive quantity, got ${JSON.stringify(value)}`);
    return n;
  };
  const cpu = quantity('resources.cpu', r.cpu, parseCpu);
  const memory = quantity('resources.memory', r.memory, parseMemory);
  const cpuLimit = quantity('resources.limits.cpu', r.limits?.cpu, parseCpu);
  const memoryLimit = quantity('resources.limits.memory', r.limits?.memory, parseMemory);
  if (cpu !== undefined && cpuLimit !== undefined && cpuLimit < cpu)
    fail('resources.limits.cpu', `must not be below the request ${r.cpu}, got ${r.limits!.cpu}`);
  if (memory !== undefined && memoryLimit !== undefined && memoryLimit < memory) {
    fail('resources.limits.memory', `must not be below the request ${r.memory}, got ${r.limits!.memory}`);
  }
  if (r.gpu !== undefined && (!Number.isInteger(r.gpu) || r.gpu < 0))
    fail('resources.gpu', `must be a non-negative integer, got ${String(r.gpu)}`);
}

function keyText(w: Workload): string {
  try {
    return workloadKeyString(w.key);
  } catch {
    return '(no key)';
  }
}

/**
 * True when `b` asks for the same replicas as `a`, apart from the replica count, labels and
 * autoscaling bounds (what a revision may change in place: none of them changes what a replica
 * runs; this engine does not act on `scaling`, the control plane's autoscaler sets `replicas`).
 * Anything else is a new revision, i.e. a new key.
 */
export function sameReplicaSpec(a: Workload, b: Workload): boolean {
  const strip = (w: Workload): unknown => canonical({ ...w, replicas: 0, labels: undefined, scaling: undefined });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries.sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => [k, canonical(v)]));
}

/** The probe path to use: the workload's, or the model server's standard one. */
export function probePath(probe: ProbeSpec, kind: keyof typeof MODEL_PROBE_PATHS): string {
  return probe.path || MODEL_PROBE_PATHS[kind];
}

/** The startup probe path: its own, else the readiness path (a model server is started once it is ready). */
export function startupPath(startup: StartupProbeSpec, w: Workload): string {
  return startup.path || probePath(w.readiness, 'readiness');
}

/**
 * The argv and environment of one replica listening on `port`. A model replica's own drain period
 * is set below the runtime's stop grace (`stopGraceMs`), so it finishes in-flight requests and
 * exits before the SIGKILL that ends the grace. Resources add a thread cap (`--threads`,
 * `UV_THREADPOOL_SIZE`) for a cpu limit and `WHARF_GPUS`; these win over the workload's own `env`
 * and `serverArgs` (a `--threads` there is dropped when a cpu limit sets the cap), since a cap the
 * workload could lift would not be one.
 */
export function replicaCommand(
  w: Workload,
  replicaId: string,
  port: number | undefined,
  wharfBin: string,
  stopGraceMs: number,
  secretValues: Readonly<Record<string, string>> = {},
): { argv: string[]; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  for (const name of INHERITED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
  Object.assign(env, w.env, secretValues, resourceEnv(w), {
    ...(port === undefined ? {} : { PORT: String(port) }),
    WHARF_WORKLOAD: workloadKeyString(w.key),
    WHARF_REPLICA: replicaId,
  });
  // `$(PORT)` as Kubernetes expands it in a container's args; a worker has no port to expand.
  if (w.command)
    return { argv: w.command.argv.map((a) => (port === undefined ? a : a.replaceAll('$(PORT)', String(port)))), env };
  const m = w.model!;
  if (port === undefined) throw new Error('a model replica needs a port');
  const capArgs = resourceServerArgs(w);
  const argv = [
    process.execPath,
    wharfBin,
    'serve-model',
    '--model',
    m.artifactPath,
    '--name',
    w.key.deployment,
    '--version',
    m.version,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--grace-period',
    String(drainSeconds(stopGraceMs)),
    ...capArgs,
    ...(capArgs.length > 0 ? withoutThreadsFlag(m.serverArgs ?? []) : (m.serverArgs ?? [])),
  ];
  return { argv, env };
}

/** `args` without `--threads N` / `--threads=N` (the last one given would win over the cap). */
function withoutThreadsFlag(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') i++;
    else if (!args[i]!.startsWith('--threads=')) out.push(args[i]!);
  }
  return out;
}

/** How long a replica of `w` gets between SIGTERM and SIGKILL: its own grace period, else the runtime's. */
export function stopGraceOf(w: Workload, stopGraceMs: number): number {
  return w.terminationGracePeriodMs ?? stopGraceMs;
}

/** Seconds a replica may drain: 80% of the stop grace, leaving time to exit before SIGKILL. */
export function drainSeconds(stopGraceMs: number): number {
  return Math.floor(stopGraceMs * 0.8) / 1000;
}
