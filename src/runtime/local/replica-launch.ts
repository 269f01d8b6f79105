/**
 * Starting one process of a replica, and describing how one ended: the two steps of
 * {@link ReplicaProcess} that touch the outside (artifact, ports, spawn, log files) rather than
 * its state machine. A start checks the model artifact against its digest first, then takes a
 * port (the replica's previous one when it is free) and spawns the command with its output going
 * to the replica's log files.
 */
import { closeSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { DigestCheck } from './artifact-digest.js';
import { freePort } from './free-port.js';
import { lastLines, type LogPaths, openForChild } from './log-files.js';
import { describeExit, type ExitInfo, ProcessHandle } from './process-handle.js';
import type { ReplicaContext } from './replica-context.js';
import { replicaCommand, stopGraceOf } from './workload-spec.js';
import type { Workload } from '../runtime.js';

/** The address replicas listen on. */
export const HOST = '127.0.0.1';

/** How a start went. */
export type LaunchResult =
  | {
      readonly kind: 'started';
      readonly handle: ProcessHandle;
      /** None for a workload that serves nothing (a worker). */
      readonly port: number | undefined;
      /** Where the process runs and its environment: a health command runs the same way. */
      readonly cwd: string | undefined;
      readonly env: NodeJS.ProcessEnv;
    }
  /** The artifact check failed: not started until the next apply. */
  | { readonly kind: 'blocked'; readonly message: string }
  /** No port or no process: worth a restart with back-off (`port`: the one taken, if any). */
  | { readonly kind: 'failed'; readonly message: string; readonly port?: number }
  /** The replica was stopped or detached meanwhile. */
  | { readonly kind: 'cancelled' };

/** Starts a process for replica `id`; `active` says whether the replica still wants one. */
export async function launchReplica(
  ctx: ReplicaContext,
  replica: { readonly id: string; readonly logs: LogPaths; readonly port: number | undefined },
  active: () => boolean,
): Promise<LaunchResult> {
  const workload = ctx.workload();
  if (workload.model) {
    const check: DigestCheck = await ctx.verifier.verify(workload.model.artifactPath, workload.model.digest);
    if (!active()) return { kind: 'cancelled' };
    ctx.artifactChecked(check);
    if (!check.ok) return { kind: 'blocked', message: `not started: ${check.message}` };
  }
  if (workload.bundle) {
    const unpacked = await ctx.bundles.unpack(workload.bundle.artifactPath, workload.bundle.digest);
    if (!active()) return { kind: 'cancelled' };
    ctx.artifactChecked(unpacked.check);
    if (!unpacked.ok) return { kind: 'blocked', message: `not started: ${unpacked.message}` };
  }
  const cwd = commandCwd(ctx, workload);
  if (cwd === null) return { kind: 'blocked', message: "not started: command.workingDir leaves the bundle's folder" };
  if (cwd !== undefined && !workload.bundle) mkdirSync(cwd, { recursive: true });
  let port: number | undefined;
  try {
    // A worker listens on nothing: no port is taken and none is given to it.
    if (workload.serves !== 'none') port = await freePort(HOST, replica.port);
    if (!active()) return { kind: 'cancelled' };
    const secretValues = await resolveSecretEnv(ctx, workload);
    if (!active()) return { kind: 'cancelled' };
    const { argv, env } = replicaCommand(
      workload,
      replica.id,
      port,
      ctx.options.wharfBin,
      stopGraceOf(workload, ctx.options.stopGraceMs),
      secretValues,
    );
    const fds = openForChild(replica.logs);
    try {
      const handle = ProcessHandle.spawn({ argv, env, cwd, stdoutFd: fds.stdout, stderrFd: fds.stderr });
      return { kind: 'started', handle, port, cwd, env };
    } finally {
      closeSync(fds.stdout);
      closeSync(fds.stderr);
    }
  } catch (err) {
    return { kind: 'failed', message: `could not be started: ${(err as Error).message}`, port };
  }
}

/**
 * Where a command workload's process runs: inside its unpacked bundle (plus `workingDir`); without
 * a bundle an absolute `workingDir`, else a scratch folder of the workload's own (never the control
 * plane's current directory, which depends on where `wharf up` was started). Undefined for a
 * model; null when `workingDir` leaves the bundle.
 */
export function commandCwd(
  ctx: Pick<ReplicaContext, 'bundles' | 'dir'>,
  workload: Workload,
): string | undefined | null {
  if (!workload.command) return undefined;
  const dir = workload.command.workingDir;
  if (workload.bundle) return insideBundle(ctx.bundles.dirOf(workload.bundle.digest), dir) ?? null;
  return dir !== undefined && isAbsolute(dir) ? dir : join(ctx.dir, 'work');
}

/** `root` joined with `workingDir`, or undefined when that leaves `root` (`..`, a link's target is not followed). */
function insideBundle(root: string, workingDir: string | undefined): string | undefined {
  if (workingDir === undefined) return root;
  const dir = resolve(root, workingDir.replace(/^\/+/, ''));
  const rel = relative(root, dir);
  return rel.startsWith('..') || isAbsolute(rel) ? undefined : dir;
}

/**
 * The values of the workload's `secretEnv`, read through the runtime's resolver at each start (never
 * written to the replica's state record or logs). A failure names the variable and secret only.
 */
async function resolveSecretEnv(ctx: ReplicaContext, workload: Workload): Promise<Record<string, string>> {
  const refs = Object.entries(workload.secretEnv ?? {});
  if (refs.length === 0) return {};
  const resolve = ctx.options.resolveSecret;
  if (resolve === undefined) throw new Error('secretEnv: this runtime has no secret resolver');
  const values: Record<string, string> = {};
  for (const [variable, ref] of refs) {
    try {
      values[variable] = await resolve(workload.key.environment, ref.secret, ref.key, ref.version);
    } catch (err) {
      throw new Error(`secretEnv.${variable} (secret ${ref.secret}, key ${ref.key}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return values;
}

/** Log lines a crash description quotes: enough for a traceback's end, short enough for a condition. */
const QUOTED_LINES = 5;

/**
 * How a process ended, for the restart message: the kill's cause, the exit, and the last lines
 * of its stderr (where a crash says why), each cut to 300 characters.
 */
export async function describeEnd(
  info: ExitInfo,
  cause: { readonly message: string } | undefined,
  logs: LogPaths,
): Promise<string> {
  const exit = describeExit(info);
  let description = cause ? `${cause.message}; ${exit}` : exit;
  const lines = await lastLines(logs.stderr, QUOTED_LINES).catch(() => []);
  if (lines.length === 1) description += `; last stderr line: ${JSON.stringify(lines[0]!.slice(0, 500))}`;
  else if (lines.length > 1)
    description += `; last stderr lines: ${lines.map((l) => JSON.stringify(l.slice(0, 300))).join(' | ')}`;
  return description;
}
