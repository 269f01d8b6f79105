/**
 * The gateway benchmark's application row: the seed-stack FastAPI + scikit-learn app (one uvicorn
 * process, `POST /predict`) called directly and through the Wharf gateway as an application route
 * (`kind: application`: every header forwarded plus `X-Forwarded-*`, the `/bench/seed-app` prefix
 * stripped), one replica shared by both paths. The targets of issue 15: the gateway keeps at least
 * 95% of the app's requests/s and adds at most 1 ms of p99.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RouteTable } from '../../src/protocol/route-table.js';
import type { BaselineFixture } from './fixtures.js';
import type { TargetReport } from './measure.js';
import { startServer, type ServerProcess } from './processes.js';
import { baselineTarget, type Target } from './targets.js';
import { check, type Check, ratio } from './verdicts.js';
import { borrowed } from './gateway-targets.js';

/** Concurrencies of the application row: one caller (the latency a request pays) and sixteen (throughput). */
export const APP_CONCURRENCIES = [1, 16] as const;
/** Where the gateway serves the app: `/bench/seed-app/predict`. */
export const APP_ROUTE = { environment: 'bench', deployment: 'seed-app' } as const;

/** A one-route table: the application route to the app at `url`. */
export function appRouteTable(url: string): RouteTable {
  return {
    version: 1,
    routes: [
      {
        ...APP_ROUTE,
        kind: 'application',
        protocol: 'http',
        targets: [
          { revision: 1, weight: 100, model: { name: 'seed-app', version: '1' }, backends: [{ id: 'app0', url }] },
        ],
      },
    ],
  };
}

/** The uvicorn replica both paths reach; started once, kept up across both runs. */
export function appReplica(fixture: BaselineFixture): Target {
  return { ...baselineTarget(fixture), id: 'app-replica', label: 'seed-stack app' };
}

/** wrk → the app. The replica outlives this target: its `stop` does nothing. */
export function appDirectTarget(fixture: BaselineFixture, replica: ServerProcess): Target {
  return {
    ...baselineTarget(fixture),
    id: 'app-direct',
    label: 'app direct',
    start: () => Promise.resolve(borrowed(replica)),
  };
}

/** wrk → Wharf gateway (its own process, the application route table in `dir`) → the app. */
export function appGatewayTarget(
  fixture: BaselineFixture,
  gatewayScript: string,
  dir: string,
  replica: ServerProcess,
): Target {
  return {
    ...baselineTarget(fixture),
    id: 'app-gateway',
    label: 'app through the Wharf gateway',
    path: `/${APP_ROUTE.environment}/${APP_ROUTE.deployment}/predict`,
    async start() {
      const tableFile = join(dir, 'app-routes.json');
      await writeFile(tableFile, JSON.stringify(appRouteTable(replica.url)));
      return startServer({
        name: 'Wharf gateway (application route)',
        command: process.execPath,
        args: [gatewayScript, '0', '--table', tableFile],
        readyPath: '/readyz',
      });
    },
  };
}

/** The application row's targets: req/s ratio at c16, and the p99 the gateway adds at c1 and c16. */
export function appChecks(reports: readonly TargetReport[]): Check[] {
  const run = (id: string, c: number) => reports.find((r) => r.id === id)?.runs.find((x) => x.connections === c);
  const added = (c: number): number | undefined => {
    const a = run('app-gateway', c)?.p99Ms;
    const b = run('app-direct', c)?.p99Ms;
    return a === undefined || b === undefined ? undefined : a - b;
  };
  return [
    check(
      'app: gateway / direct req/s at c16',
      '>=',
      0.95,
      ratio(run('app-gateway', 16)?.requestsPerSec, run('app-direct', 16)?.requestsPerSec),
    ),
    check('app: gateway p99 − direct p99 at c1', '<=', 1, added(1), 'ms'),
    check('app: gateway p99 − direct p99 at c16', '<=', 1, added(16), 'ms'),
  ];
}
