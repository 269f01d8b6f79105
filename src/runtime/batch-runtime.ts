/**
 * What the job controller asks of an engine that runs batch workers: launch a worker for a
 * {@link BatchTask}, tell whether it still runs, stop it, read its log. A worker is named by its
 * task's `workDir` (one worker per work directory): the worker checkpoints there, so launching
 * again on the same directory resumes the work. The engine keeps nothing the controller needs in
 * memory alone: a restarted control plane finds a running worker again from what the engine wrote
 * in the work directory. Implementations: `local/local-batch-runtime.ts` (child processes).
 */
import type { BatchTask } from '../protocol/batch-task.js';

/** What the engine knows of the worker of one work directory. */
export interface BatchWorkerState {
  /** `running`: the recorded worker process is alive; `gone`: none runs (never launched, ended or killed). */
  readonly state: 'running' | 'gone';
  /** How it ended, when this engine saw it end (an adopted worker's exit code cannot be read). */
  readonly exitCode?: number | null;
}

/** Runs batch workers (see the module comment). */
export interface BatchRuntime {
  /** Writes `task.json` into the task's work directory and starts a worker on it; resolves once started. */
  launch(task: BatchTask): Promise<void>;
  /** Whether the worker of `workDir` runs; a worker of an earlier control plane is adopted here. */
  observe(workDir: string): Promise<BatchWorkerState>;
  /** Stops the worker of `workDir` and everything it started; resolves once it is gone. */
  stop(workDir: string): Promise<void>;
  /** The last `tailLines` lines of the worker's output (every launch, appended). */
  logs(workDir: string, tailLines: number): Promise<string>;
  /** Stops every worker this engine launched or adopted: no process outlives the control plane's stop. */
  close(): Promise<void>;
}
