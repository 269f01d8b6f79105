/** A free TCP port on 127.0.0.1 for a process the test starts (bound and released at once). */
import { createServer } from 'node:net';

/** See the module comment. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
