/**
 * The gateway's pieces of `npm run bench:rollouts`, each starting its own gateway and upstreams
 * and returning numbers (the caller prints and judges them):
 *
 * - {@link measureSplitAccuracy}: a weighted split over N requests, the share each revision got
 *   (read from `x-wharf-revision` on every response) and the worst deviation in percentage points.
 *   Upstreams are fixed-response servers (their own processes); the gateway runs in this process.
 * - {@link measureShadowOverhead}: the primary's p99 at a fixed rate with no mirror, and with a 100%
 *   mirror to a replica that is 50 ms slower (`serve-model --inject-latency-ms 50`), both real model
 *   servers behind gateway processes of their own, measured open loop in interleaved rounds.
 *
 * Run `node dist/bench/lib/rollout-gateway.js` for a quick smoke check of both with small defaults
 * (environment: SPLIT_REQUESTS, SHADOW_SECONDS, SHADOW_RATE).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { READMISSION_FEATURES } from '../../src/demo/readmission.js';
import { GatewayServer } from '../../src/gateway/gateway-server.js';
import type { RouteTable } from '../../src/protocol/route-table.js';
import { writeDemoModels } from './fixtures.js';
import { runFixedRate } from './gateway-fixed-rate.js';
import { median } from './gateway-open-loop.js';
import { freePort } from './http.js';
import { installCleanupHandlers, startServer, stopAll, type ServerProcess } from './processes.js';
import { runMain } from './run-main.js';
import { wharfTarget } from './targets.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const fixedResponseScript = fileURLToPath(new URL('./fixed-response-server.js', import.meta.url));
const gatewayScript = fileURLToPath(new URL('./gateway-process.js', import.meta.url));

const ENVIRONMENT = 'bench';
const DEPLOYMENT = 'readmission';
const INFER_PATH = `/${ENVIRONMENT}/${DEPLOYMENT}/v2/models/${DEPLOYMENT}/infer`;
/** One readmission row, as the other gateway benchmarks send. */
const BODY = JSON.stringify({
  inputs: [
    {
      name: 'input',
      datatype: 'FP32',
      shape: [1, READMISSION_FEATURES.length],
      data: READMISSION_FEATURES.map((_, i) => (i % 5) / 5),
    },
  ],
});

/** What {@link measureSplitAccuracy} measured. */
export interface SplitAccuracy {
  requests: number;
  weights: number[];
  /** Share of the answered requests each revision got, in percent, in `weights` order. */
  observedPercent: number[];
  /** max |observed − expected| over the revisions, in percentage points. */
  maxDeviationPp: number;
  /** Requests that did not get a 200. */
  failed: number;
}

/**
 * Sends `requests` through a gateway whose route splits between `weights.length` revisions, each
 * on its own fixed-response server, `concurrency` at a time, and counts where they went.
 */
export async function measureSplitAccuracy({
  requests = 10_000,
  weights = [80, 20],
  concurrency = 32,
}: { requests?: number; weights?: number[]; concurrency?: number } = {}): Promise<SplitAccuracy> {
  const servers = await Promise.all(
    weights.map(async (_, i) =>
      startServer({
        name: `upstream ${i + 1}`,
        command: process.execPath,
        args: [fixedResponseScript, String(await freePort()), `{"revision":${i + 1}}`],
        readyPath: '/',
      }),
    ),
  );
  const gateway = new GatewayServer({ port: 0, shutdownGraceMs: 1_000 });
  try {
    await gateway.start();
    const total = weights.reduce((a, b) => a + b, 0);
    gateway.setTable({
      version: 1,
      routes: [
        {
          environment: ENVIRONMENT,
          deployment: DEPLOYMENT,
          // Weights are relative in a table but targets sum to 100: scale them.
          targets: weights.map((w, i) => ({
            revision: i + 1,
            weight: (w / total) * 100,
            model: { name: DEPLOYMENT, version: '1' },
            backends: [{ id: `u${i + 1}`, url: servers[i]!.url }],
          })),
        },
      ],
    });
    const counts = new Array<number>(weights.length).fill(0);
    let failed = 0;
    let sent = 0;
    const pool = new Pool(gateway.url, { connections: concurrency, pipelining: 1 });
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < requests) {
          sent++;
          const res = await pool.request({
            method: 'POST',
            path: INFER_PATH,
            headers: { 'content-type': 'application/json' },
            body: BODY,
          });
          await res.body.dump();
          const revision = Number(res.headers['x-wharf-revision']);
          if (res.statusCode === 200 && revision >= 1 && revision <= weights.length) counts[revision - 1]!++;
          else failed++;
        }
      }),
    );
    await pool.close();
    const answered = counts.reduce((a, b) => a + b, 0);
    const observedPercent = counts.map((n) => (answered === 0 ? 0 : (n / answered) * 100));
    const maxDeviationPp = Math.max(...observedPercent.map((p, i) => Math.abs(p - (weights[i]! / total) * 100)));
    return { requests, weights, observedPercent, maxDeviationPp, failed };
  } finally {
    await gateway.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** What {@link measureShadowOverhead} measured. Latencies in milliseconds, medians over rounds. */
export interface ShadowOverhead {
  rate: number;
  seconds: number;
  rounds: number;
  /** Primary p99 through a gateway without a mirror. */
  plainP99Ms: number;
  /** Primary p99 through a gateway mirroring every request to the slower replica. */
  mirroredP99Ms: number;
  /** mirrored / plain. */
  ratio: number;
  /** (ratio − 1) · 100. */
  increasePercent: number;
  /** Callers' requests without a 200, over every measured run of both gateways. */
  failed: number;
  /** The mirroring gateway's shadow counters at the end. */
  shadow: { mirrored: number; dropped: number; compared: number; agreed: number; shadowErrors: number };
}

/**
 * Two gateway processes in front of one readmission model server: one plain, one mirroring 100% of
 * requests to a second model server with `--inject-latency-ms 50`. Each round measures both at
 * `rate` requests/s for `seconds` (after a 1 s warm-up at the same rate), open loop.
 */
export async function measureShadowOverhead({
  seconds = 10,
  rate = 200,
  rounds = 3,
  log = () => undefined,
}: { seconds?: number; rate?: number; rounds?: number; log?: (line: string) => void } = {}): Promise<ShadowOverhead> {
  const work = await mkdtemp(join(tmpdir(), 'wharf-bench-shadow-'));
  const started: ServerProcess[] = [];
  try {
    const { readmission } = await writeDemoModels(repoRoot, work);
    const replica = (id: string, extraArgs: string[] = []) =>
      wharfTarget({
        id,
        label: id,
        repoRoot,
        model: readmission,
        name: DEPLOYMENT,
        batching: true,
        body: BODY,
        outputName: 'probability',
        extraArgs,
      }).start();
    const [primary, slow] = await Promise.all([
      replica('primary'),
      replica('slow mirror', ['--inject-latency-ms', '50']),
    ]);
    started.push(primary, slow);
    const target = (revision: number, weight: number, url: string) => ({
      revision,
      weight,
      model: { name: DEPLOYMENT, version: '1' },
      backends: [{ id: `r${revision}`, url }],
    });
    const plainTable: RouteTable = {
      version: 1,
      routes: [{ environment: ENVIRONMENT, deployment: DEPLOYMENT, targets: [target(1, 100, primary.url)] }],
    };
    const mirrorTable: RouteTable = {
      version: 1,
      routes: [
        {
          ...plainTable.routes[0]!,
          targets: [target(1, 100, primary.url), target(2, 0, slow.url)],
          mirror: { revision: 2, percent: 100 },
        },
      ],
    };
    const gatewayFor = async (name: string, table: RouteTable): Promise<ServerProcess> => {
      const file = join(work, `${name}.json`);
      await writeFile(file, JSON.stringify(table));
      const server = await startServer({
        name: `gateway (${name})`,
        command: process.execPath,
        args: [gatewayScript, '0', '--table', file],
        readyPath: '/readyz',
      });
      started.push(server);
      return server;
    };
    const gateways = {
      plain: await gatewayFor('plain', plainTable),
      mirrored: await gatewayFor('mirrored', mirrorTable),
    };
    const p99s: Record<'plain' | 'mirrored', number[]> = { plain: [], mirrored: [] };
    let failed = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const name of ['plain', 'mirrored'] as const) {
        const run = { url: gateways[name].url + INFER_PATH, body: BODY, rate };
        await runFixedRate({ ...run, durationS: 1 });
        const result = await runFixedRate({ ...run, durationS: seconds });
        failed += result.sent - result.ok;
        p99s[name].push(result.latencyMs.p99);
        log(
          `  round ${round} ${name}: p50 ${result.latencyMs.p50.toFixed(3)} ms, p99 ${result.latencyMs.p99.toFixed(3)} ms, ${result.ok}/${result.sent} ok`,
        );
      }
    }
    const plainP99Ms = median(p99s.plain)!;
    const mirroredP99Ms = median(p99s.mirrored)!;
    const ratio = mirroredP99Ms / plainP99Ms;
    // The last copies answer 50 ms after their primaries; let them settle before reading the counters.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return {
      rate,
      seconds,
      rounds,
      plainP99Ms,
      mirroredP99Ms,
      ratio,
      increasePercent: (ratio - 1) * 100,
      failed,
      shadow: await shadowCounters(gateways.mirrored.url),
    };
  } finally {
    await Promise.all(started.map((s) => s.stop()));
    await rm(work, { recursive: true, force: true });
  }
}

/** The mirroring gateway's shadow counters, read from its /metrics (it runs in another process). */
async function shadowCounters(gatewayUrl: string): Promise<ShadowOverhead['shadow']> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const value = (name: string): number =>
    Number(new RegExp(`^wharf_gateway_shadow_${name}_total\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    mirrored: value('mirrored'),
    dropped: value('dropped'),
    compared: value('compared'),
    agreed: value('agreed'),
    shadowErrors: value('errors'),
  };
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const log = (line: string): void => void process.stderr.write(line + '\n');
  try {
    const split = await measureSplitAccuracy({ requests: Number(process.env.SPLIT_REQUESTS ?? 10_000) });
    log(
      `split ${split.weights.join('/')} over ${split.requests} requests: ${split.observedPercent.map((p) => p.toFixed(2) + '%').join(' / ')}, ` +
        `max deviation ${split.maxDeviationPp.toFixed(3)} pp, ${split.failed} failed`,
    );
    const shadow = await measureShadowOverhead({
      seconds: Number(process.env.SHADOW_SECONDS ?? 3),
      rate: Number(process.env.SHADOW_RATE ?? 200),
      rounds: 1,
      log,
    });
    log(
      `shadow at ${shadow.rate} req/s: primary p99 ${shadow.plainP99Ms.toFixed(3)} ms without a mirror, ${shadow.mirroredP99Ms.toFixed(3)} ms with a 100% mirror ` +
        `50 ms slower (×${shadow.ratio.toFixed(3)}, ${shadow.increasePercent >= 0 ? '+' : ''}${shadow.increasePercent.toFixed(1)}%), ${shadow.failed} failed; ` +
        `mirror: ${JSON.stringify(shadow.shadow)}`,
    );
    process.stdout.write(JSON.stringify({ split, shadow }, null, 2) + '\n');
    return 0;
  } finally {
    await stopAll();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  runMain('rollout-gateway', main);
