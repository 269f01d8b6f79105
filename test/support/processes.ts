/**
 * Starts `wharf` subcommands as real child processes for end-to-end tests, and makes sure none is
 * left behind: every process started here is killed when the test file's process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { eventually, GiveUp } from './eventually.js';
import { credentialsPath, readCredentials } from '../../src/server/credentials-file.js';

/** Absolute path of the `wharf` launcher in this checkout. */
export const WHARF_BIN = fileURLToPath(new URL('../../../bin/wharf.js', import.meta.url));

/** The repository root (tests run from dist/test/…). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A running `wharf` process with its captured output. */
export interface WharfProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
}

/** Spawns `node bin/wharf.js ...args` (in `cwd`, default this process's folder). */
export function startWharf(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): WharfProcess {
  const child = spawn(process.execPath, [WHARF_BIN, ...args], {
    env: { ...process.env, ...env },
    ...(cwd === undefined ? {} : { cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(child, 'exit').then(([code, signal]) => {
    live.delete(child);
    return (code ?? signal) as number | string;
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The URLs `wharf up` prints once it serves. */
export interface WharfUpUrls {
  readonly api: string;
  readonly gateway: string;
}

/**
 * Waits until `wharf up` has printed its banner (`Wharf is up: API … gateway …`), or, with
 * `untilPrompt`, its closing `Press Ctrl-C to stop.` (after the demo is seeded); fails at once,
 * with its stderr, if the process exits first.
 */
export async function untilWharfUp(
  up: WharfProcess,
  { timeoutMs = 30_000, untilPrompt = false }: { timeoutMs?: number; untilPrompt?: boolean } = {},
): Promise<WharfUpUrls> {
  return eventually(
    () => {
      if (up.child.exitCode !== null || up.child.signalCode !== null)
        throw new GiveUp(`wharf up exited (${up.child.exitCode ?? up.child.signalCode}): ${up.stderr()}`);
      const banner = /Wharf is up: API (\S+)\s+gateway (\S+)/.exec(up.stdout());
      if (banner === null || (untilPrompt && !/Press Ctrl-C to stop/.test(up.stdout()))) return undefined;
      return { api: banner[1]!, gateway: banner[2]! };
    },
    { timeoutMs, intervalMs: 100, message: 'wharf up to print its URLs' },
  );
}

/** A model server started by {@link startModelServer}. */
export interface ModelServerProcess extends WharfProcess {
  /** Base URL printed by the server, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** Sends SIGTERM and waits for exit; SIGKILL after `timeoutMs`. Returns the exit code. */
  stop(timeoutMs?: number): Promise<number | string>;
}

/**
 * Runs `wharf serve-model --port 0 ...args` and waits until it prints its URL (the model is then
 * loaded and ready). Rejects with the process's stderr if it exits first.
 */
export async function startModelServer(args: readonly string[], timeoutMs = 20_000): Promise<ModelServerProcess> {
  const proc = startWharf(['serve-model', '--port', '0', ...args]);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`model server did not start within ${timeoutMs} ms: ${proc.stderr()}`)),
      timeoutMs,
    );
    const check = (): void => {
      const m = /http:\/\/[^\s)]+/.exec(proc.stdout());
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    proc.child.stdout!.on('data', check);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`model server exited (${code}) before it was ready: ${proc.stderr()}`));
    });
  });
  const stop = async (stopTimeoutMs = 10_000): Promise<number | string> => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), stopTimeoutMs);
    const code = await proc.exited;
    clearTimeout(timer);
    return code;
  };
  return { ...proc, url, stop };
}

/** True if a process with this pid still exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The admin token `wharf up` wrote to `<home>/credentials` on its first start. */
export function adminTokenOf(home: string): string {
  const credentials = readCredentials(credentialsPath(home));
  if (credentials === undefined) throw new Error(`no credentials file with a token in ${home}`);
  return credentials.token;
}

/** The Authorization header with the admin token of `home`. */
export function adminAuth(home: string): { authorization: string } {
  return { authorization: `Bearer ${adminTokenOf(home)}` };
}
