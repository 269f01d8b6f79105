/**
 * Runs a benchmark's main function and exits with its code; a thrown error means the benchmark
 * could not run (exit 1), as opposed to a target being missed (exit 0).
 */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `${name} benchmark could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
