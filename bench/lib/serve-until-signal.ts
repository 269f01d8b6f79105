/**
 * Shared tail of the benchmark's reference servers: listen on loopback, print the URL line the
 * harness waits for, and close (dropping load-generator keep-alive connections) on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';

/** Listens on 127.0.0.1:`port` (0 = any free port) and exits 0 on the first SIGTERM or SIGINT. */
export function serveUntilSignal(server: Server, port: number): void {
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    process.stdout.write(`listening on http://127.0.0.1:${bound}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close(() => process.exit(0));
      // Keep-alive connections from a load generator would hold close() open; drop them.
      server.closeAllConnections();
    });
  }
}
