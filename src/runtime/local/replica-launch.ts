/**
 * Starting one process of a replica, and describing how one ended: the two steps of
 * {@link ReplicaProcess} that touch the outside (artifact, ports, spawn, log files) rather than
 * its state machine. A start checks the model artifact against its digest first, then takes a
 * port (the replica's previous one when it is free) and spawns the command with its output going
 * to the replica's log files.
 */
import { closeSync } from 'node:fs';
import type { DigestCheck } from './artifact-digest.js';
import { freePort } from './free-port.js';
import { lastLine, type LogPaths, openForChild } from './log-files.js';
import { describeExit, type ExitInfo, ProcessHandle } from './process-handle.js';
import type { ReplicaContext } from './replica-context.js';
import { replicaCommand } from './workload-spec.js';
import type { Workload } from '../runtime.js';

/** The address replicas listen on. */
export const HOST = '127.0.0.1';

/** How a start went. */
export type LaunchResult =
  | { readonly kind: 'started'; readonly handle: ProcessHandle; readonly port: number }
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
  let port: number | undefined;
  try {
    port = await freePort(HOST, replica.port);
    if (!active()) return { kind: 'cancelled' };
    const secretValues = await resolveSecretEnv(ctx, workload);
    if (!active()) return { kind: 'cancelled' };
    const { argv, env } = replicaCommand(
      workload,
      replica.id,
      port,
      ctx.options.wharfBin,
      ctx.options.stopGraceMs,
      secretValues,
    );
    const fds = openForChild(replica.logs);
    try {
      const handle = ProcessHandle.spawn({ argv, env, stdoutFd: fds.stdout, stderrFd: fds.stderr });
      return { kind: 'started', handle, port };
    } finally {
      closeSync(fds.stdout);
      closeSync(fds.stderr);
    }
  } catch (err) {
    return { kind: 'failed', message: `could not be started: ${(err as Error).message}`, port };
  }
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

/** How a process ended, for the restart message: the kill's cause, the exit, the last stderr line. */
export async function describeEnd(
  info: ExitInfo,
  cause: { readonly message: string } | undefined,
  logs: LogPaths,
): Promise<string> {
  const exit = describeExit(info);
  let description = cause ? `${cause.message}; ${exit}` : exit;
  const stderr = await lastLine(logs.stderr).catch(() => undefined);
  if (stderr) description += `; last stderr line: ${JSON.stringify(stderr.slice(0, 500))}`;
  return description;
}
