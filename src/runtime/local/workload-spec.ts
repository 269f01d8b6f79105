/**
 * The local runtime's reading of a {@link Workload}: validation, what may change under the same
 * key, and the command line and environment of a replica.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { type ProbeSpec, type Workload, workloadKeyString } from '../runtime.js';

/** Probe paths used when a model workload leaves `path` empty. */
export const MODEL_PROBE_PATHS = { readiness: '/v2/health/ready', liveness: '/v2/health/live' } as const;

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
  if (!w.key || typeof w.key.environment !== 'string' || w.key.environment === '') fail('key.environment', 'must be a non-empty string');
  if (typeof w.key.deployment !== 'string' || w.key.deployment === '') fail('key.deployment', 'must be a non-empty string');
  if (!Number.isInteger(w.key.revision) || w.key.revision < 0) fail('key.revision', 'must be a non-negative integer');
  if (!Number.isInteger(w.replicas) || w.replicas < 0) fail('replicas', `must be a non-negative integer, got ${String(w.replicas)}`);
  if ((w.model === undefined) === (w.command === undefined)) fail('model/command', 'exactly one of model and command must be set');
  if (w.model) {
    for (const f of ['name', 'version', 'artifactPath', 'digest'] as const) {
      if (typeof w.model[f] !== 'string' || w.model[f] === '') fail(`model.${f}`, 'must be a non-empty string');
    }
  }
  if (w.command && (!Array.isArray(w.command.argv) || w.command.argv.length === 0 || w.command.argv.some((a) => typeof a !== 'string'))) {
    fail('command.argv', 'must be a non-empty array of strings');
  }
  if (!w.model && (!w.readiness.path || !w.liveness.path)) fail('readiness.path/liveness.path', 'required for a command workload');
  for (const [name, probe] of [['readiness', w.readiness], ['liveness', w.liveness]] as const) {
    for (const f of ['intervalMs', 'timeoutMs', 'retries'] as const) {
      if (!Number.isInteger(probe[f]) || probe[f] < 1) fail(`${name}.${f}`, `must be a positive integer, got ${String(probe[f])}`);
    }
    if (!Number.isInteger(probe.startupGraceMs) || probe.startupGraceMs < 0) fail(`${name}.startupGraceMs`, 'must be a non-negative integer');
    if (probe.path && !probe.path.startsWith('/')) fail(`${name}.path`, 'must start with /');
  }
}

function keyText(w: Workload): string {
  try {
    return workloadKeyString(w.key);
  } catch {
    return '(no key)';
  }
}

/**
 * True when `b` asks for the same replicas as `a`, apart from the replica count and labels (the
 * two things a revision may change in place). Anything else is a new revision, i.e. a new key.
 */
export function sameReplicaSpec(a: Workload, b: Workload): boolean {
  const strip = (w: Workload): unknown => canonical({ ...w, replicas: 0, labels: undefined });
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

/**
 * The argv and environment of one replica listening on `port`. A model replica's own drain period
 * is set below the runtime's stop grace (`stopGraceMs`), so it finishes in-flight requests and
 * exits before the SIGKILL that ends the grace.
 */
export function replicaCommand(
  w: Workload,
  replicaId: string,
  port: number,
  wharfBin: string,
  stopGraceMs: number,
): { argv: string[]; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  for (const name of INHERITED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
  Object.assign(env, w.env, { PORT: String(port), WHARF_WORKLOAD: workloadKeyString(w.key), WHARF_REPLICA: replicaId });
  if (w.command) return { argv: [...w.command.argv], env };
  const m = w.model!;
  const argv = [
    process.execPath, wharfBin, 'serve-model',
    '--model', m.artifactPath,
    '--name', w.key.deployment,
    '--version', m.version,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--grace-period', String(drainSeconds(stopGraceMs)),
    ...(m.serverArgs ?? []),
  ];
  return { argv, env };
}

/** Seconds a replica may drain: 80% of the stop grace, leaving time to exit before SIGKILL. */
export function drainSeconds(stopGraceMs: number): number {
  return Math.floor(stopGraceMs * 0.8) / 1000;
}
