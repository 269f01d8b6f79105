/**
 * Plain-text tables and the number formats benchmarks print in them.
 */

/** Column alignment: numbers read best right-aligned. */
export type Align = 'left' | 'right';

/**
 * Formats rows as a table with a header rule; columns are as wide as their widest cell.
 *
 * @example
 * formatTable(['target', 'req/s'], [['(c) baseline', '1,450']], ['left', 'right']);
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, i) => {
        const cell = cells[i] ?? '';
        return align[i] === 'right' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A rate with thousands separators and no decimals, e.g. `41,203`; `-` when unknown. */
export function formatRate(value: number | undefined): string {
  return value === undefined ? '-' : Math.round(value).toLocaleString('en-US');
}

/** Milliseconds with three significant figures at most, e.g. `0.412 ms`, `10.6 ms`; `-` when unknown. */
export function formatMs(value: number | undefined): string {
  if (value === undefined) return '-';
  const digits = value < 1 ? 3 : value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ms`;
}

/** A ratio such as `15.3×`; `-` when unknown. */
export function formatRatio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)}×`;
}
