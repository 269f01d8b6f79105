/**
 * Turns the gateway benchmark's measurements into its tables, its stated targets (the issue's
 * acceptance criteria) and the ratios that carry no target. Pure: no I/O, so what is printed and
 * what is saved agree.
 */
import { formatSteal } from './gateway-cpu.js';
import { addedP99, median, openLoopStealShare, type OpenLoopReport, type OpenLoopRun } from './gateway-open-loop.js';
import { runAt, type TargetReport } from './measure.js';
import { byId, errorCell } from './serving-report.js';
import { formatMs, formatRate, formatRatio, formatTable } from './table.js';
import { check, ratio, type Check } from './verdicts.js';

/** Concurrencies at which the gateway must keep up with nginx. */
export const NGINX_COMPARE_AT = [16, 64] as const;
/** Concurrency at which the gateway is compared with the FastAPI baseline. */
export const BASELINE_COMPARE_AT = 16;
/** The gateway's access features, each measured against the plain gateway: id and what the checks call it. */
export const ACCESS_VARIANTS = [
  ['gateway-auth', 'auth on'],
  ['gateway-rate-limit', 'rate limit on'],
] as const;
/** Concurrencies at which a feature's req/s is compared with the plain gateway's. */
export const ACCESS_COMPARE_AT = [16, 64] as const;

/** Microseconds, e.g. `85 µs`; `-` when unknown. */
function formatUs(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${Math.round(value)} µs`;
}

/** Milliseconds with a sign, for latency added over the direct path, e.g. `+0.212 ms`. */
function formatDelta(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return `${value >= 0 ? '+' : '−'}${formatMs(Math.abs(value))}`;
}

/** One row per path and concurrency: wrk's rate, p50, p99, errors, and the rate relative to direct and to nginx. */
export function throughputTable(reports: readonly TargetReport[]): string {
  const get = byId(reports);
  const rows: string[][] = [];
  for (const report of reports) {
    if (report.runs.length === 0) {
      rows.push([report.label, '-', '-', '-', '-', report.error ? 'did not run' : '-', '-', '-']);
      continue;
    }
    for (const run of report.runs) {
      const vs = (id: string): string =>
        id === report.id
          ? '-'
          : formatRatio(ratio(run.requestsPerSec, runAt(get(id), run.connections)?.requestsPerSec));
      rows.push([
        report.label,
        String(run.connections),
        formatRate(run.requestsPerSec),
        formatMs(run.p50Ms),
        formatMs(run.p99Ms),
        errorCell(run),
        vs('direct'),
        vs('nginx'),
      ]);
    }
  }
  const headers = ['path', 'conns', 'req/s', 'p50', 'p99', 'errors', '×direct', '×nginx'];
  return formatTable(headers, rows, ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right']);
}

/**
 * The open-loop runs, one row per path: medians over rounds (latency from the scheduled send time),
 * each round's p99, the generator's own lag, CPU per request and the host's steal.
 */
export function openLoopTable(reports: readonly OpenLoopReport[], cpus: number): string {
  const rows = reports.map((r) => {
    if (r.runs.length === 0)
      return [r.label, '-', '-', '-', '-', '-', '-', '-', r.error ? 'did not run' : '-', '-', '-', '-', '-'];
    const mid = (f: (run: OpenLoopRun) => number | undefined): number | undefined => median(r.runs.map(f));
    const failed = r.runs.reduce((n, run) => n + run.failed, 0);
    const non2xx = r.runs.reduce((n, run) => n + run.non2xx, 0);
    const errors =
      failed + non2xx === 0
        ? '0'
        : [failed ? `${failed} failed` : '', non2xx ? `${non2xx} non-2xx` : ''].filter(Boolean).join(', ');
    return [
      r.label,
      formatRate(mid((x) => x.achievedRate)),
      formatMs(mid((x) => x.latencyMs.p50)),
      formatMs(mid((x) => x.latencyMs.p99)),
      r.runs.map((x) => x.latencyMs.p99.toFixed(2)).join(' / '),
      formatMs(mid((x) => x.latencyMs.p999)),
      formatMs(mid((x) => x.serviceMs.p99)),
      formatMs(mid((x) => x.sendLagMs.p99)),
      errors,
      r.id === 'direct' ? '-' : formatDelta(addedP99(reports, r.id)),
      formatUs(mid((x) => x.cpuUsPerRequest.proxy)),
      formatUs(mid((x) => x.cpuUsPerRequest.replica)),
      formatSteal(
        r.runs.reduce((s, run) => s + (run.stealS ?? 0), 0),
        openLoopStealShare(r, cpus),
      ),
    ];
  });
  const headers = [
    'path',
    'req/s',
    'p50',
    'p99',
    'p99 by round (ms)',
    'p99.9',
    'p99 from send',
    'send lag p99',
    'errors',
    'added p99',
    'proxy CPU/req',
    'server CPU/req',
    'steal',
  ];
  return formatTable(headers, rows, ['left', ...Array<'right'>(12).fill('right')]);
}

/** The targets, judged PASS or MISS. */
export function gatewayChecks(
  reports: readonly TargetReport[],
  openLoop: readonly OpenLoopReport[],
  rate: number,
): Check[] {
  const get = byId(reports);
  const rps = (id: string, c: number): number | undefined => runAt(get(id), c)?.requestsPerSec;
  return [
    ...NGINX_COMPARE_AT.map((c) =>
      check(`gateway / nginx req/s at c${c}`, '>=', 0.9, ratio(rps('gateway', c), rps('nginx', c))),
    ),
    check(
      `gateway p99 − direct p99 at ${formatRate(rate)} req/s (median of rounds)`,
      '<=',
      1,
      addedP99(openLoop, 'gateway'),
      'ms',
    ),
    check(
      `gateway / FastAPI baseline req/s at c${BASELINE_COMPARE_AT}`,
      '>=',
      8,
      ratio(rps('gateway', BASELINE_COMPARE_AT), rps('baseline', BASELINE_COMPARE_AT)),
    ),
    ...ACCESS_VARIANTS.flatMap(([id, name]) => [
      ...ACCESS_COMPARE_AT.map((c) =>
        check(`gateway ${name} / off req/s at c${c}`, '>=', 0.95, ratio(rps(id, c), rps('gateway', c))),
      ),
      check(
        `gateway ${name}: p99 − gateway p99 at ${formatRate(rate)} req/s (median of rounds)`,
        '<=',
        0.2,
        addedP99(openLoop, id, 'gateway'),
        'ms',
      ),
    ]),
  ];
}

/** Ratios and differences with no target: what each proxy costs relative to calling the replica directly. */
export function otherRatios(reports: readonly TargetReport[], concurrencies: readonly number[]): string {
  const get = byId(reports);
  const cells = (f: (c: number) => string): string =>
    concurrencies
      .map((c) => `c${c} ${f(c)}`.padEnd(16))
      .join('')
      .trimEnd();
  const rate =
    (num: string, den: string) =>
    (c: number): string =>
      formatRatio(ratio(runAt(get(num), c)?.requestsPerSec, runAt(get(den), c)?.requestsPerSec));
  const delta =
    (id: string, metric: 'p50Ms' | 'p99Ms') =>
    (c: number): string => {
      const a = runAt(get(id), c)?.[metric];
      const b = runAt(get('direct'), c)?.[metric];
      return formatDelta(a !== undefined && b !== undefined ? a - b : undefined);
    };
  const line = (name: string, f: (c: number) => string): string => `${name.padEnd(28)} ${cells(f)}`;
  const overGateway =
    (id: string, metric: 'p50Ms' | 'p99Ms') =>
    (c: number): string => {
      const a = runAt(get(id), c)?.[metric];
      const b = runAt(get('gateway'), c)?.[metric];
      return formatDelta(a !== undefined && b !== undefined ? a - b : undefined);
    };
  return [
    line('gateway / direct req/s', rate('gateway', 'direct')),
    line('auth on / off req/s', rate('gateway-auth', 'gateway')),
    line('auth on − off p99', overGateway('gateway-auth', 'p99Ms')),
    line('rate limit on / off req/s', rate('gateway-rate-limit', 'gateway')),
    line('rate limit on − off p99', overGateway('gateway-rate-limit', 'p99Ms')),
    line('nginx / direct req/s', rate('nginx', 'direct')),
    line('gateway / nginx req/s', rate('gateway', 'nginx')),
    line('gateway − direct p50', delta('gateway', 'p50Ms')),
    line('nginx − direct p50', delta('nginx', 'p50Ms')),
    line('gateway − direct p99', delta('gateway', 'p99Ms')),
    line('nginx − direct p99', delta('nginx', 'p99Ms')),
  ].join('\n');
}
