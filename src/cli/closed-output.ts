/**
 * `wharf … | head -1`: once the reader has gone, a write fails with EPIPE. That is the reader's
 * choice, not a failure of the command, so the CLI exits quietly (code 0) instead of dying with an
 * unhandled 'error' event and a stack trace. Any other output error still surfaces.
 */
export function exitQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
}
