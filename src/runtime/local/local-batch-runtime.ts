/**
 * Batch workers as local processes: `wharf job-worker --task <workDir>/task.json`, each the leader
 * of its own process group (so a stop reaches whatever it forks), its output appended to
 * `<workDir>/worker.log`, its identity (pid and kernel start time) in `<workDir>/worker.json`. A
 * control plane that was killed finds its workers again from that file and adopts the ones still
 * running; a recorded pid that now belongs to another process is never signalled
 * (process-identity.ts). `close()` stops every worker it knows: a stopped control plane leaves no
 * process behind, and the next one resumes the work from the worker's checkpoints.
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchTask } from '../../protocol/batch-task.js';
import type { BatchRuntime, BatchWorkerState } from '../batch-runtime.js';
import { LOCAL_DEFAULTS } from './local-options.js';
import { ProcessHandle } from './process-handle.js';
import type { ProcessIdentity } from './process-identity.js';

/** Settings; every one has a default. */
export interface LocalBatchRuntimeOptions {
  /** The `wharf` launcher (default: this checkout's bin/wharf.js). */
  readonly wharfBin?: string;
  /** The worker's command line for a task file (default: `node <wharfBin> job-worker --task FILE`). */
  readonly command?: (taskFile: string) => readonly string[];
  /** Between SIGTERM and SIGKILL on stop. */
  readonly stopGraceMs?: number;
  /** How often an adopted worker's exit is polled. */
  readonly exitPollMs?: number;
  /** Environment of the workers (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

interface Tracked {
  handle: ProcessHandle;
  exit?: number | null;
}

/** Files of a work directory this engine owns. */
const TASK_FILE = 'task.json';
const WORKER_FILE = 'worker.json';
const LOG_FILE = 'worker.log';

/** See the module comment. */
export class LocalBatchRuntime implements BatchRuntime {
  private readonly workers = new Map<string, Tracked>();
  private readonly command: (taskFile: string) => readonly string[];
  private closed = false;

  constructor(private readonly options: LocalBatchRuntimeOptions = {}) {
    const bin = options.wharfBin ?? LOCAL_DEFAULTS.wharfBin;
    this.command = options.command ?? ((file) => [process.execPath, bin, 'job-worker', '--task', file]);
  }

  async launch(task: BatchTask): Promise<void> {
    if (this.closed) throw new Error('the batch runtime is closed');
    if ((await this.observe(task.workDir)).state === 'running') return;
    await mkdir(task.workDir, { recursive: true });
    const taskFile = join(task.workDir, TASK_FILE);
    await atomicWrite(taskFile, JSON.stringify(task, null, 2));
    const log = openSync(join(task.workDir, LOG_FILE), 'a');
    let handle: ProcessHandle;
    try {
      handle = ProcessHandle.spawn({
        argv: this.command(taskFile),
        env: this.options.env ?? process.env,
        stdoutFd: log,
        stderrFd: log,
      });
    } finally {
      closeSync(log);
    }
    const tracked: Tracked = { handle };
    this.workers.set(task.workDir, tracked);
    void handle.exited.then((info) => {
      tracked.exit = info.error === undefined ? info.code : null;
      // Whatever it forked goes with it.
      handle.sweepGroup();
    });
    if (handle.failedToStart) return;
    await atomicWrite(join(task.workDir, WORKER_FILE), JSON.stringify(handle.identity));
  }

  async observe(workDir: string): Promise<BatchWorkerState> {
    let tracked = this.workers.get(workDir);
    if (tracked === undefined) {
      const identity = await readIdentity(workDir);
      const adopted =
        identity === undefined
          ? undefined
          : ProcessHandle.adopt(identity, this.options.exitPollMs ?? LOCAL_DEFAULTS.exitPollMs);
      if (adopted === undefined) return { state: 'gone' };
      tracked = { handle: adopted };
      const t = tracked;
      void adopted.exited.then(() => (t.exit = null));
      this.workers.set(workDir, tracked);
    }
    if (!('exit' in tracked)) return { state: 'running' };
    return { state: 'gone', exitCode: tracked.exit ?? null };
  }

  async stop(workDir: string): Promise<void> {
    await this.observe(workDir);
    const tracked = this.workers.get(workDir);
    if (tracked === undefined) return;
    await tracked.handle.terminate(this.options.stopGraceMs ?? LOCAL_DEFAULTS.stopGraceMs);
    tracked.handle.sweepGroup();
    this.workers.delete(workDir);
  }

  async logs(workDir: string, tailLines: number): Promise<string> {
    const text = await readFile(join(workDir, LOG_FILE), 'utf8').catch(() => '');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-tailLines).join('\n');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers.keys()].map((w) => this.stop(w)));
  }
}

async function readIdentity(workDir: string): Promise<ProcessIdentity | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(workDir, WORKER_FILE), 'utf8')) as ProcessIdentity;
    return typeof parsed.pid === 'number' && parsed.pid > 0 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

async function atomicWrite(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}
