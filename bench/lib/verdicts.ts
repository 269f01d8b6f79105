/**
 * Targets a benchmark states as ratios (e.g. "at least 15× the baseline"), judged PASS or MISS.
 * A MISS is a result, not a failure: the benchmark still exits 0.
 */
import { formatMs, formatRatio } from './table.js';

/** One stated target and what was measured against it. */
export interface Check {
  name: string;
  /** `>=`: the ratio must reach `target`; `<=`: it must not exceed it. */
  op: '>=' | '<=';
  target: number;
  /** The measured ratio; `undefined` when a side could not be measured. */
  measured?: number;
  /** PASS, MISS or `n/a` (not measured). */
  verdict: 'PASS' | 'MISS' | 'n/a';
  /** What `measured` and `target` are: a ratio (the default) or milliseconds, e.g. added latency. */
  unit?: 'ratio' | 'ms';
}

/** The ratio `numerator / denominator`, or `undefined` when either is missing or the denominator is 0. */
export function ratio(numerator: number | undefined, denominator: number | undefined): number | undefined {
  if (numerator === undefined || denominator === undefined || denominator === 0) return undefined;
  return numerator / denominator;
}

/**
 * Judges `measured` against `target`.
 *
 * @example
 * check('(a)/(c) req/s at c16', '>=', 15, 18.2).verdict; // 'PASS'
 */
export function check(
  name: string,
  op: Check['op'],
  target: number,
  measured: number | undefined,
  unit?: Check['unit'],
): Check {
  const base = unit === undefined ? { name, op, target } : { name, op, target, unit };
  if (measured === undefined || !Number.isFinite(measured)) return { ...base, verdict: 'n/a' };
  const pass = op === '>=' ? measured >= target : measured <= target;
  return { ...base, measured, verdict: pass ? 'PASS' : 'MISS' };
}

/** One line per check, e.g. `MISS  (a)/(d) req/s at c16   0.52×  target ≥ 0.60×, short by 13%`. */
export function formatChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  // Wider when a value is in milliseconds (`-0.123 ms`), so ratio-only tables print as before.
  const valueWidth = checks.some((c) => c.unit === 'ms') ? 9 : 7;
  return checks
    .map((c) => {
      const sign = c.op === '>=' ? '≥' : '≤';
      // Milliseconds keep their sign: an added latency can come out negative within noise.
      const format =
        c.unit === 'ms'
          ? (v: number | undefined) => (v !== undefined && v < 0 ? `-${formatMs(-v)}` : formatMs(v))
          : formatRatio;
      const head = `${c.verdict.padEnd(4)}  ${c.name.padEnd(width)}  ${format(c.measured).padStart(valueWidth)}  target ${sign} ${format(c.target)}`;
      if (c.verdict !== 'MISS' || c.measured === undefined)
        return c.verdict === 'n/a' ? `${head} (not measured)` : head;
      // A latency budget reads best as how many milliseconds over it.
      if (c.unit === 'ms')
        return `${head}, ${c.op === '>=' ? 'short' : 'over'} by ${formatMs(Math.abs(c.measured - c.target))}`;
      // How far off, relative to the target, so a near miss reads differently from a far one.
      const off = Math.abs(c.measured / c.target - 1) * 100;
      return `${head}, ${c.op === '>=' ? 'short' : 'over'} by ${off.toFixed(1)}%`;
    })
    .join('\n');
}
