/**
 * Child processes for benchmarks: start a server and wait until it answers, run a command to
 * completion, and stop everything on the way out (errors, Ctrl-C, SIGTERM) so no process is orphaned.
 *
 * Every child is spawned `detached`, i.e. as the leader of its own process group, so that stopping it
 * signals the whole group (`kill(-pid)`) and also reaches anything it started itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGetStatus } from './http.js';

/** Children that have not exited yet; stopped by {@link stopAll} and by the exit hooks. */
const live = new Set<ChildProcess>();

/** Set by a signal: from then on no new child may start, so nothing outlives the stop. */
let shuttingDown = false;

/** How much of a child's output is kept to explain a failure. */
const TAIL_BYTES = 4096;

/** A server process that answered its readiness probe. */
export interface ServerProcess {
  readonly name: string;
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly pid: number;
  /** The last few KB of stdout + stderr, for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start a server and tell that it is ready. */
export interface StartOptions {
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Base URL when the port was chosen beforehand; otherwise the first `http://host:port` the process prints on stdout. */
  url?: string;
  /** Path that answers 200 once the server can take requests, e.g. `/v2/health/ready`. */
  readyPath: string;
  timeoutMs?: number;
}

/** Spawns a tracked child in its own process group. stdin is closed; stdout and stderr are piped. */
export function spawnTracked(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  if (shuttingDown) throw new Error(`not starting ${command}: shutting down`);
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  // Without a listener a failed spawn (ENOENT) would be an uncaught 'error' event; callers see it through 'exit'/'close'.
  child.once('error', () => live.delete(child));
  return child;
}

/** Sends `signal` to the child's whole process group; a group that is already gone is not an error. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: already exited.
  }
}

/** Stops one child: SIGTERM to its group, SIGKILL after `graceMs` if it has not exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
    signalGroup(child, 'SIGKILL');
    await exited;
  }
}

/** Stops every child still running, in parallel. */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c, graceMs)));
}

/**
 * Makes Ctrl-C, SIGTERM and SIGHUP stop all children before exiting, and SIGKILLs any child still
 * alive when the process exits for another reason (an uncaught error, `process.exit`).
 */
export function installCleanupHandlers(): void {
  const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const [signal, code] of Object.entries(codes)) {
    process.once(signal, () => {
      shuttingDown = true;
      process.stderr.write(`\n${signal}: stopping ${live.size} child process(es)\n`);
      void stopAll().finally(() => process.exit(code));
    });
  }
  process.once('exit', () => {
    for (const child of live) signalGroup(child, 'SIGKILL');
  });
}

/** Keeps the last {@link TAIL_BYTES} of a stream, and always drains it so a chatty child never blocks on a full pipe. */
function collectTail(child: ChildProcess): () => string {
  let tail = '';
  const onData = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return () => tail;
}

/** Resolves with the first `http://host:port` the child prints on stdout. */
function urlFromStdout(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const match = /https?:\/\/[\w.[\]:-]+:\d+/.exec(buffered);
      if (match) {
        child.stdout?.off('data', onData);
        resolve(match[0]);
      }
    };
    child.stdout?.on('data', onData);
  });
}

/**
 * Starts a server, waits for its URL (given or printed) and for `readyPath` to answer 200.
 * On any failure the process is stopped and the error carries its last output.
 */
export async function startServer(opts: StartOptions): Promise<ServerProcess> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const child = spawnTracked(opts.command, opts.args, { cwd: opts.cwd, env: opts.env });
  const output = collectTail(child);
  const exited = new Promise<never>((_, reject) => {
    const fail = (why: string): void => reject(new Error(`${opts.name} ${why} before it was ready\n${output()}`));
    child.once('error', (err) => fail(`could not start (${err.message})`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
  });
  exited.catch(() => undefined); // Only raced below; never let it become an unhandled rejection.
  // Aborted once the race below is decided, so the poll loop and the timer stop with it.
  const settled = new AbortController();

  const ready = async (): Promise<string> => {
    const url = (opts.url ?? (await urlFromStdout(child))).replace(/\/$/, '');
    while (!settled.signal.aborted) {
      if ((await httpGetStatus(url + opts.readyPath, 1000)) === 200) return url;
      await sleep(100);
    }
    return url;
  };
  const timeout = sleep(timeoutMs, undefined, { signal: settled.signal }).then(() => {
    throw new Error(`${opts.name} was not ready within ${timeoutMs} ms\n${output()}`);
  });

  let url: string;
  try {
    url = await Promise.race([ready(), exited, timeout]);
  } catch (err) {
    await stopChild(child);
    throw err;
  } finally {
    settled.abort();
  }
  return { name: opts.name, url, pid: child.pid ?? -1, output, stop: (graceMs) => stopChild(child, graceMs) };
}

/** What a finished command left behind. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion (tracked, so Ctrl-C stops it too). With `echo`, its output is also
 * copied to this process's stderr as it arrives, for long setup steps such as apt-get.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; echo?: boolean } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (opts.echo) process.stderr.write(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (opts.echo) process.stderr.write(chunk);
    });
    child.once('error', (err) => reject(new Error(`could not run ${command}: ${err.message}`)));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
