/**
 * The fast entry of `wharf job-worker`: bin/wharf.js loads this instead of the whole command line
 * (main.ts imports every command and, with them, the API, the store and their libraries), so a
 * worker starts in a fraction of the time; a batch job may start many.
 */
import { Command } from 'commander';
import { BATCH_EXIT } from '../protocol/batch-task.js';
import { registerJobWorker } from './job-worker.js';

const program = new Command('wharf')
  .enablePositionalOptions()
  .configureOutput({ outputError: (text, write) => write(`wharf: ${text.replace(/^error: /, '')}`) })
  // A bad command line is the task's fault: BATCH_EXIT.invalidTask, not a crash to restart.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : BATCH_EXIT.invalidTask));
registerJobWorker(program);
await program.parseAsync(process.argv);
