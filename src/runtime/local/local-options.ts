/** Settings of the local runtime, with every default declared in one place. */
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../../core/errors.js';
import type { BackoffPolicy } from './backoff.js';
import type { CpuCgroupSupport } from './cpu-cgroup.js';
import type { SecretResolver } from '../runtime.js';

/** Options of {@link LocalRuntime}; everything but `stateDir` has a default (see {@link LOCAL_DEFAULTS}). */
export interface LocalRuntimeOptions {
  /** Directory for replica state and logs, e.g. `<wharf home>/runtime`. One runtime at a time. */
  readonly stateDir: string;
  /** The `wharf` launcher model replicas run (default: this checkout's bin/wharf.js). */
  readonly wharfBin?: string;
  /** Milliseconds clock; injectable for tests of time-based rules. */
  readonly now?: () => number;
  /** Rotate a log file once it is larger than this. */
  readonly logMaxBytes?: number;
  /** Files kept per replica stream, the current one included. */
  readonly logFiles?: number;
  /** How often file sizes are checked for rotation. */
  readonly logCheckIntervalMs?: number;
  /** How often `logs({ follow: true })` looks for new lines. */
  readonly logPollMs?: number;
  /** Delay before restarting a replica that exited. */
  readonly backoff?: Partial<BackoffPolicy>;
  /** A replica restarted this many times within {@link crashLoopWindowMs} is crash-looping. */
  readonly crashLoopThreshold?: number;
  /** The crash-loop window; a replica ready for this long is stable again (back-off reset, condition cleared). */
  readonly crashLoopWindowMs?: number;
  /** How long a replica gets between SIGTERM and SIGKILL. */
  readonly stopGraceMs?: number;
  /** How often the exit of an adopted replica (not our child, so no exit event) is polled. */
  readonly exitPollMs?: number;
  /** How often each replica's memory and CPU are sampled (usage, memory-limit watchdog). */
  readonly usageSampleMs?: number;
  /** Where replica cpu cgroups are created; detected from /proc by default (tests pass a directory standing in for one). */
  readonly cpuCgroup?: CpuCgroupSupport;
  /** Reads the items of `secretEnv` when a replica starts; without it, `secretEnv` is unsupported. */
  readonly resolveSecret?: SecretResolver;
}

/** The defaults. */
export const LOCAL_DEFAULTS = {
  wharfBin: fileURLToPath(new URL('../../../../bin/wharf.js', import.meta.url)),
  now: (): number => Date.now(),
  logMaxBytes: 10 * 1024 * 1024,
  logFiles: 3,
  logCheckIntervalMs: 1_000,
  logPollMs: 250,
  backoff: { initialMs: 500, maxMs: 30_000 },
  crashLoopThreshold: 3,
  crashLoopWindowMs: 60_000,
  stopGraceMs: 30_000,
  exitPollMs: 200,
  usageSampleMs: 500,
} as const;

/** Options with every default filled in. */
export interface ResolvedLocalOptions {
  readonly stateDir: string;
  readonly wharfBin: string;
  readonly now: () => number;
  readonly logMaxBytes: number;
  readonly logFiles: number;
  readonly logCheckIntervalMs: number;
  readonly logPollMs: number;
  readonly backoff: BackoffPolicy;
  readonly crashLoopThreshold: number;
  readonly crashLoopWindowMs: number;
  readonly stopGraceMs: number;
  readonly exitPollMs: number;
  readonly usageSampleMs: number;
  readonly resolveSecret?: SecretResolver;
}

/** Fills in defaults and rejects nonsense (a zero poll interval would spin). */
export function resolveLocalOptions(options: LocalRuntimeOptions): ResolvedLocalOptions {
  if (typeof options.stateDir !== 'string' || options.stateDir === '') {
    throw new InvalidArgumentError('stateDir: must be a non-empty path');
  }
  const d = LOCAL_DEFAULTS;
  const resolved: ResolvedLocalOptions = {
    stateDir: options.stateDir,
    wharfBin: options.wharfBin ?? d.wharfBin,
    now: options.now ?? d.now,
    logMaxBytes: options.logMaxBytes ?? d.logMaxBytes,
    logFiles: options.logFiles ?? d.logFiles,
    logCheckIntervalMs: options.logCheckIntervalMs ?? d.logCheckIntervalMs,
    logPollMs: options.logPollMs ?? d.logPollMs,
    backoff: {
      initialMs: options.backoff?.initialMs ?? d.backoff.initialMs,
      maxMs: options.backoff?.maxMs ?? d.backoff.maxMs,
    },
    crashLoopThreshold: options.crashLoopThreshold ?? d.crashLoopThreshold,
    crashLoopWindowMs: options.crashLoopWindowMs ?? d.crashLoopWindowMs,
    stopGraceMs: options.stopGraceMs ?? d.stopGraceMs,
    exitPollMs: options.exitPollMs ?? d.exitPollMs,
    usageSampleMs: options.usageSampleMs ?? d.usageSampleMs,
    ...(options.resolveSecret === undefined ? {} : { resolveSecret: options.resolveSecret }),
  };
  const positive: [string, number][] = [
    ['logMaxBytes', resolved.logMaxBytes],
    ['logFiles', resolved.logFiles],
    ['logCheckIntervalMs', resolved.logCheckIntervalMs],
    ['logPollMs', resolved.logPollMs],
    ['backoff.initialMs', resolved.backoff.initialMs],
    ['backoff.maxMs', resolved.backoff.maxMs],
    ['crashLoopThreshold', resolved.crashLoopThreshold],
    ['crashLoopWindowMs', resolved.crashLoopWindowMs],
    ['exitPollMs', resolved.exitPollMs],
    ['usageSampleMs', resolved.usageSampleMs],
  ];
  for (const [field, value] of positive) {
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError(`${field}: must be a positive integer, got ${value}`);
  }
  if (!Number.isInteger(resolved.stopGraceMs) || resolved.stopGraceMs < 0) {
    throw new InvalidArgumentError(`stopGraceMs: must be a non-negative integer, got ${resolved.stopGraceMs}`);
  }
  if (resolved.backoff.maxMs < resolved.backoff.initialMs) {
    throw new InvalidArgumentError('backoff.maxMs: must not be below backoff.initialMs');
  }
  return resolved;
}
