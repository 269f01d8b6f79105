/**
 * Before `wharf up` starts anything: are the ports it was asked for free? A port in use is named
 * with what Wharf wanted it for and the flag that moves it, every busy one at once, instead of the
 * first listener's bare EADDRINUSE after half the platform has started.
 */
import { createServer } from 'node:net';
import { CliError, EXIT_CODES } from './exit-codes.js';

/** A port `wharf up` will listen on. */
export interface WantedPort {
  port: number;
  /** What listens there, e.g. `API` or `gateway`. */
  what: string;
  /** The flag that changes it, e.g. `--gateway-port`. */
  flag: string;
}

/** Whether `port` can be bound on `host` now (bound and released at once). */
async function isFree(host: string, port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Throws a CliError naming every busy port in `wanted` (port 0 = any free port, never busy). */
export async function checkPortsFree(host: string, wanted: readonly WantedPort[]): Promise<void> {
  const busy: WantedPort[] = [];
  for (const w of wanted) if (w.port !== 0 && !(await isFree(host, w.port))) busy.push(w);
  if (busy.length === 0) return;
  const lines = busy.map(
    (w) =>
      `port ${w.port} on ${host} (the ${w.what}) is already in use by another process; choose another with ${w.flag} PORT`,
  );
  throw new CliError(
    `${lines.join('\nwharf: ')}\nwharf: e.g. wharf up ${busy.map((w) => `${w.flag} ${w.port + 1}`).join(' ')} (with npm: npm start -- ${busy.map((w) => `${w.flag} ${w.port + 1}`).join(' ')})`,
    EXIT_CODES.failed.code,
  );
}
