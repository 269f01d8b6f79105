/** Wraps a CLI action so any failure prints one line (`wharf: <message>`) and exits with its code (exit-codes.ts), never a stack. */
import { exitCodeFor } from './exit-codes.js';

export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`wharf: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(exitCodeFor(err));
    }
  };
}
