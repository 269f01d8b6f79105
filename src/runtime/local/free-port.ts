/** Picking a TCP port for a replica. */
import net from 'node:net';

/**
 * A port that is free on `host` right now: `preferred` when it can be bound (a restarted replica
 * keeps its endpoint, so a gateway's route stays valid), otherwise one the kernel picks. Another
 * process may still take it before the replica binds; the replica then fails to start and is
 * restarted with a fresh port, so the race costs a restart, not correctness.
 */
export async function freePort(host: string, preferred?: number): Promise<number> {
  if (preferred !== undefined && preferred > 0) {
    const port = await tryListen(host, preferred);
    if (port !== undefined) return port;
  }
  const port = await tryListen(host, 0);
  if (port === undefined) throw new Error(`no free TCP port on ${host}`);
  return port;
}

function tryListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}
