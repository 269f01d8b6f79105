/**
 * The Wharf gateway as the gateway benchmark runs it: its own process (so it gets a core of its
 * own, like nginx's single worker), the production `GatewayServer` with its defaults, and one
 * static route table that sends `/bench/readmission/...` to one model-server replica. No control
 * plane: the benchmark measures the data path, not table distribution.
 *
 * Usage: node dist/bench/lib/gateway-process.js PORT BACKEND_URL [--access auth|rate-limit]
 *        node dist/bench/lib/gateway-process.js PORT --table TABLE.json   (any route table, e.g. with a mirror)
 *
 * `--access auth` makes the route protected (callers send `authorization: Bearer BENCH_TOKEN`, one
 * of {@link BENCH_TOKEN_COUNT} tokens listed on it); `--access rate-limit` gives it a per-client
 * rate limit far above what one machine sends ({@link BENCH_RATE_LIMIT}), so every request pays for
 * its bucket and none is refused.
 * Prints `listening on http://127.0.0.1:PORT` once it has a table (so it is ready when the harness
 * sees the line); stops gracefully on SIGTERM or SIGINT.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { tokenHash } from '../../src/core/identity/token-string.js';
import { GatewayServer } from '../../src/gateway/gateway-server.js';
import type { Route, RouteTable } from '../../src/protocol/route-table.js';

/** The route the benchmark calls: `/<environment>/<deployment>/v2/models/<model>/infer`. */
export const BENCH_ROUTE = { environment: 'bench', deployment: 'readmission', model: 'readmission' } as const;

/** The token the protected variant's callers send (a benchmark fixture, not a secret). */
export const BENCH_TOKEN = `wharf_benchaaaaaaa_${'b'.repeat(43)}`;
/** Tokens listed on the protected route (the caller's among them), as a deployment with many clients would have. */
export const BENCH_TOKEN_COUNT = 1_000;
/** The rate limit of the limited variant: high enough that the benchmark's load is never refused. */
export const BENCH_RATE_LIMIT = { requestsPerSecond: 1_000_000, burst: 1_000_000, per: 'client' } as const;

/** What the gateway checks on the benchmark's route, besides routing it. */
export type BenchAccess = 'none' | 'auth' | 'rate-limit';

/** A one-route, one-revision, one-backend table pointing at `backendUrl`, with `access` checks. */
export function benchRouteTable(backendUrl: string, access: BenchAccess = 'none'): RouteTable {
  const route: Route = {
    environment: BENCH_ROUTE.environment,
    deployment: BENCH_ROUTE.deployment,
    targets: [
      {
        revision: 1,
        weight: 100,
        model: { name: BENCH_ROUTE.model, version: '1' },
        backends: [{ id: 'r0', url: backendUrl }],
      },
    ],
  };
  const tokens = Array.from({ length: BENCH_TOKEN_COUNT }, (_, i) =>
    i === 0
      ? { id: 'benchaaaaaaa', hash: tokenHash(BENCH_TOKEN), expiresAt: '2999-01-01T00:00:00Z' }
      : { id: `other${String(i).padStart(7, '0')}`, hash: tokenHash(`wharf_other_${i}`), expiresAt: null },
  );
  const routes =
    access === 'auth'
      ? [{ ...route, auth: { tokens } }]
      : access === 'rate-limit'
        ? [{ ...route, rateLimit: BENCH_RATE_LIMIT }]
        : [route];
  return { version: 1, routes };
}

async function main(): Promise<void> {
  const [portArg = '0', backendUrl, tableFile, accessArg] = process.argv.slice(2);
  const usage = 'usage: gateway-process.js PORT BACKEND_URL [--access auth|rate-limit] | PORT --table FILE';
  if (!backendUrl || (backendUrl === '--table' && !tableFile)) throw new Error(usage);
  let access: BenchAccess = 'none';
  if (backendUrl !== '--table' && tableFile !== undefined) {
    if (tableFile !== '--access' || (accessArg !== 'auth' && accessArg !== 'rate-limit')) throw new Error(usage);
    access = accessArg;
  }
  const table =
    backendUrl === '--table'
      ? (JSON.parse(await readFile(tableFile!, 'utf8')) as RouteTable)
      : benchRouteTable(backendUrl, access);
  // Short grace: the harness stops the gateway only after the load generator has finished.
  const gateway = new GatewayServer({ host: '127.0.0.1', port: Number(portArg), shutdownGraceMs: 2_000 });
  await gateway.start();
  gateway.setTable(table);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void gateway.stop().finally(() => process.exit(0)));
  }
  process.stdout.write(`listening on ${gateway.url}\n`);
}

// Only when run as a script: gateway.ts imports BENCH_ROUTE from here without starting a gateway.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`gateway-process: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
