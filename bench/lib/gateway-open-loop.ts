/**
 * The gateway benchmark's open-loop phase: every path at a fixed rate, in several interleaved
 * rounds (direct, gateway, nginx, direct, gateway, nginx, …). On a shared 2-vCPU machine a single
 * 10 s run's p99 swings by several milliseconds with the host's "steal" alone; comparing paths
 * within a round and taking the median over rounds keeps one noisy stretch from deciding a
 * sub-millisecond target.
 */
import { cpuMeter, stealMeter, stealShare } from './gateway-cpu.js';
import { runFixedRate, type FixedRateResult } from './gateway-fixed-rate.js';
import type { ServerProcess } from './processes.js';
import type { Target } from './targets.js';

/** One measured open-loop run of one path, with its CPU cost and what the host stole meanwhile. */
export interface OpenLoopRun extends FixedRateResult {
  round: number;
  /** CPU microseconds per request: the model server's, and the proxy's on a proxied path. */
  cpuUsPerRequest: { replica: number | undefined; proxy: number | undefined };
  /** CPU seconds the hypervisor took from this VM during the run (all CPUs). */
  stealS: number | undefined;
}

/** Every round of one path; `error` when it could not be started or measured. */
export interface OpenLoopReport {
  id: string;
  label: string;
  runs: OpenLoopRun[];
  error?: string;
}

/** How to drive the phase. */
export interface OpenLoopOptions {
  rate: number;
  durationS: number;
  /** Unmeasured run at the same rate before every measured one (new connections, JIT). */
  warmupS: number;
  rounds: number;
  log(line: string): void;
}

/** The median of `values` (the mean of the middle two for an even count); `undefined` when empty. */
export function median(values: readonly (number | undefined)[]): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Median over rounds of (`id`'s p99 − `base`'s p99 in the same round), in ms: the latency a proxy
 * (or a gateway feature, with `base` the gateway without it) adds at the tail, with each difference
 * taken between runs a few seconds apart.
 */
export function addedP99(reports: readonly OpenLoopReport[], id: string, base = 'direct'): number | undefined {
  const direct = reports.find((r) => r.id === base);
  const other = reports.find((r) => r.id === id);
  if (!direct || !other) return undefined;
  return median(
    other.runs.map((run) => {
      const ref = direct.runs.find((d) => d.round === run.round);
      return ref ? run.latencyMs.p99 - ref.latencyMs.p99 : undefined;
    }),
  );
}

/** Share of all CPU time the host stole during `report`'s measured runs; `undefined` when unknown. */
export function openLoopStealShare(report: OpenLoopReport, cpus: number): number | undefined {
  if (report.runs.length === 0 || report.runs.some((r) => r.stealS === undefined)) return undefined;
  const stolen = report.runs.reduce((s, r) => s + r.stealS!, 0);
  return stealShare(
    stolen,
    report.runs.reduce((s, r) => s + r.durationS, 0),
    cpus,
  );
}

/**
 * Starts every path (the direct one is the running replica), then measures them in interleaved
 * rounds, and stops the proxies. Never throws: a path that fails is reported in its `error`.
 */
export async function measureOpenLoop(
  paths: readonly Target[],
  replica: ServerProcess,
  opts: OpenLoopOptions,
): Promise<OpenLoopReport[]> {
  const reports: OpenLoopReport[] = paths.map((t) => ({ id: t.id, label: t.label, runs: [] }));
  const servers: (ServerProcess | undefined)[] = [];
  try {
    // All proxies up at once: idle, they cost nothing, and restarting them per round would add noise.
    for (const [i, target] of paths.entries()) {
      servers[i] = await target.start().catch((err: Error) => {
        reports[i]!.error = `could not start: ${err.message}`;
        return undefined;
      });
    }
    for (let round = 1; round <= opts.rounds; round++) {
      opts.log(`\nopen loop, round ${round} of ${opts.rounds}: ${opts.rate} req/s`);
      for (const [i, target] of paths.entries()) {
        const server = servers[i];
        const report = reports[i]!;
        if (!server || report.error !== undefined) continue;
        try {
          const run = { url: server.url + target.path, body: target.body, rate: opts.rate, headers: target.headers };
          await runFixedRate({ ...run, durationS: opts.warmupS });
          const replicaCpu = cpuMeter(replica.pid);
          // The direct path's server *is* the replica; a proxy is its own process group.
          const proxyCpu = server.pid === replica.pid ? undefined : cpuMeter(server.pid);
          const steal = stealMeter();
          const result = await runFixedRate({ ...run, durationS: opts.durationS });
          const measured: OpenLoopRun = {
            ...result,
            round,
            cpuUsPerRequest: { replica: replicaCpu(result.sent), proxy: proxyCpu?.(result.sent) },
            stealS: steal(),
          };
          report.runs.push(measured);
          opts.log(
            `  ${target.label}: p50 ${result.latencyMs.p50.toFixed(3)} ms, p99 ${result.latencyMs.p99.toFixed(3)} ms, ` +
              `${result.ok}/${result.sent} ok, send lag p99 ${result.sendLagMs.p99.toFixed(3)} ms, steal ${measured.stealS?.toFixed(2) ?? '?'} s`,
          );
          if (result.ok === 0)
            report.error = `no request succeeded (${result.failed} failed, ${result.non2xx} non-2xx)`;
        } catch (err) {
          report.error = (err as Error).message;
        }
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s?.stop()));
  }
  return reports;
}
