/**
 * Turns the serving benchmark's measurements into its one table, its stated targets and a few
 * informational ratios. Pure: no I/O, so the numbers printed and the numbers saved agree.
 */
import { runAt, type TargetReport } from './measure.js';
import { formatMs, formatRate, formatRatio, formatTable } from './table.js';
import { check, ratio, type Check } from './verdicts.js';

/** Concurrency at which the serving targets compare request rates. */
export const COMPARE_AT = 16;
/** Concurrency at which MLP batching must multiply throughput. */
export const MLP_THROUGHPUT_AT = 64;

/** Looks reports up by target id (`a`, `b`, `c`, `d`, `e`, `mlp-off`, `mlp-on`). */
export function byId(reports: readonly TargetReport[]): (id: string) => TargetReport | undefined {
  return (id) => reports.find((r) => r.id === id);
}

/** Failed socket operations plus non-2xx answers, e.g. `0` or `3 timeout, 1 non-2xx`. */
export function errorCell(run: NonNullable<ReturnType<typeof runAt>>): string {
  const parts = Object.entries(run.socketErrors)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`);
  if (run.non2xx > 0) parts.push(`${run.non2xx} non-2xx`);
  return parts.length ? parts.join(', ') : '0';
}

/**
 * One row per target and concurrency: rate, p50, p99, errors, and the rate relative to the baseline
 * (c) and the ceiling (d) at the same concurrency. MLP rows relate to the MLP without batching.
 */
export function resultsTable(reports: readonly TargetReport[]): string {
  const get = byId(reports);
  const rows: string[][] = [];
  for (const report of reports) {
    if (report.runs.length === 0) {
      rows.push([report.label, '-', '-', '-', '-', report.error ? 'did not run' : '-', '-', '-']);
      continue;
    }
    const isMlp = report.id.startsWith('mlp');
    for (const run of report.runs) {
      const vs = (id: string): string =>
        formatRatio(ratio(run.requestsPerSec, runAt(get(id), run.connections)?.requestsPerSec));
      rows.push([
        report.label,
        String(run.connections),
        formatRate(run.rowsPerSec),
        formatMs(run.p50Ms),
        formatMs(run.p99Ms),
        errorCell(run),
        isMlp ? '-' : vs('c'),
        isMlp ? vs('mlp-off') : vs('d'),
      ]);
    }
  }
  const headers = ['target', 'conns', 'rows/s', 'p50', 'p99', 'errors', '×(c)', '×(d) | ×(no batching)'];
  return formatTable(headers, rows, ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right']);
}

/** The stated targets of the serving benchmark (DESIGN.md: measured, not assumed). */
export function servingChecks(reports: readonly TargetReport[]): Check[] {
  const get = byId(reports);
  const rps = (id: string, c: number): number | undefined => runAt(get(id), c)?.rowsPerSec;
  const p50 = (id: string, c: number): number | undefined => runAt(get(id), c)?.p50Ms;
  return [
    check(`(a) / (c) req/s at c${COMPARE_AT}`, '>=', 15, ratio(rps('a', COMPARE_AT), rps('c', COMPARE_AT))),
    check(`(a) / (d) req/s at c${COMPARE_AT}`, '>=', 0.6, ratio(rps('a', COMPARE_AT), rps('d', COMPARE_AT))),
    check(
      `MLP batching / no batching rows/s at c${MLP_THROUGHPUT_AT}`,
      '>=',
      3,
      ratio(rps('mlp-on', MLP_THROUGHPUT_AT), rps('mlp-off', MLP_THROUGHPUT_AT)),
    ),
    check('MLP batching / no batching p50 at c1', '<=', 1.05, ratio(p50('mlp-on', 1), p50('mlp-off', 1))),
  ];
}

/** Ratios worth seeing that carry no target: what batching does to the small model, and the ceiling over the baseline. */
export function otherRatios(reports: readonly TargetReport[]): string {
  const get = byId(reports);
  const line = (name: string, num: string, den: string, metric: 'rowsPerSec' | 'p50Ms'): string => {
    const cells = [1, COMPARE_AT, MLP_THROUGHPUT_AT].map(
      (c) => `c${c} ${formatRatio(ratio(runAt(get(num), c)?.[metric], runAt(get(den), c)?.[metric]))}`,
    );
    return `${name.padEnd(28)} ${cells.join('  ')}`;
  };
  return [
    line('(b) / (c) req/s', 'b', 'c', 'rowsPerSec'),
    line('(b) / (d) req/s', 'b', 'd', 'rowsPerSec'),
    line('(a) / (e) req/s', 'a', 'e', 'rowsPerSec'),
    line('(e) / (d) req/s', 'e', 'd', 'rowsPerSec'),
    line('(b) / (a) req/s', 'b', 'a', 'rowsPerSec'),
    line('(b) / (a) p50', 'b', 'a', 'p50Ms'),
    line('(d) / (c) req/s', 'd', 'c', 'rowsPerSec'),
    line('(c) / (a) p50', 'c', 'a', 'p50Ms'),
  ].join('\n');
}
