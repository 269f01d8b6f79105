/** Output formats shared by the CLI's read commands: a table for people, JSON/YAML for tools. */
import { InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';

/** `table`, `json` or `yaml`. */
export type OutputFormat = 'table' | 'json' | 'yaml';

/** Parses `--output`; anything else is a usage error (commander prints it with the option's name). */
export function outputFormat(value: string): OutputFormat {
  if (value === 'table' || value === 'json' || value === 'yaml') return value;
  throw new InvalidArgumentError('must be table, json or yaml');
}

/** Prints a document as JSON or YAML. */
export function printDocument(doc: unknown, format: Exclude<OutputFormat, 'table'>): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
}

/** Prints rows as an aligned table with a header. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}
