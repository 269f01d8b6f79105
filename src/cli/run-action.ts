/** Wraps a CLI action so any failure prints one line (`wharf: <message>`) and exits 1, never a stack. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`wharf: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  };
}
