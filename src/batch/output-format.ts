/**
 * Formats output rows (the row id, its join columns, then the model's outputs) as JSON Lines or as
 * RFC 4180 CSV, and failed rows as JSON lines of the error file. Formatting is a pure function of the
 * row and its values, so a part written again after a crash has the same bytes as the first time.
 */
import type { BatchOutput } from '../protocol/batch-task.js';
import type { BatchValues, OutputPlan } from './model.js';
import type { Row, RowError } from './rows.js';

/** Formats the rows of one job's output. */
export class RowFormatter {
  private readonly jsonKeys: string[];

  constructor(
    private readonly format: BatchOutput['format'],
    private readonly joinColumns: readonly string[],
    private readonly outputs: readonly OutputPlan[],
  ) {
    this.jsonKeys = [...joinColumns, ...outputs.map((o) => o.name)].map((k) => `,${JSON.stringify(k)}:`);
  }

  /** The CSV header line (an output `w` values wide gets columns `w_0 … w_{n-1}`); empty for JSON Lines. */
  header(): string {
    if (this.format !== 'csv') return '';
    const outputColumns = this.outputs.flatMap((o) =>
      o.width !== undefined && o.width > 1 ? Array.from({ length: o.width }, (_, j) => `${o.name}_${j}`) : [o.name],
    );
    return ['id', ...this.joinColumns, ...outputColumns].map(csvCell).join(',') + '\n';
  }

  /** Row `i` of a batch whose outputs are `values`. */
  line(row: Row, values: BatchValues, i: number): string {
    return this.format === 'csv' ? this.csvLine(row, values, i) : this.jsonLine(row, values, i);
  }

  private jsonLine(row: Row, values: BatchValues, i: number): string {
    let s = `{"id":${JSON.stringify(row.id)}`;
    let k = 0;
    for (const v of row.join) s += this.jsonKeys[k++]! + (v === undefined ? 'null' : JSON.stringify(v));
    for (let o = 0; o < values.length; o++) {
      const { data, width } = values[o]!;
      const type = this.outputs[o]!.type;
      s += this.jsonKeys[k++]!;
      if (width === 1) s += scalar(data[i]!, type);
      else {
        const parts: string[] = [];
        for (let j = 0; j < width; j++) parts.push(scalar(data[i * width + j]!, type));
        s += `[${parts.join(',')}]`;
      }
    }
    return s + '}\n';
  }

  private csvLine(row: Row, values: BatchValues, i: number): string {
    const cells = [csvCell(String(row.id))];
    for (const v of row.join) cells.push(csvCell(v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v)));
    for (let o = 0; o < values.length; o++) {
      const { data, width } = values[o]!;
      const type = this.outputs[o]!.type;
      const known = this.outputs[o]!.width;
      const row: string[] = [];
      for (let j = 0; j < width; j++) row.push(scalar(data[i * width + j]!, type));
      // A dynamic width has no columns of its own: the values go in one cell.
      if (known === undefined && width !== 1) cells.push(csvCell(`[${row.join(',')}]`));
      else cells.push(...row);
    }
    return cells.join(',') + '\n';
  }
}

/** One line of the error file: file, line, id and reason. */
export function errorLine(e: RowError): string {
  return JSON.stringify({ file: e.file, line: e.line, id: e.id, reason: e.reason }) + '\n';
}

function scalar(v: number | bigint, type: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (type === 'bool') return v !== 0 ? 'true' : 'false';
  return Number.isFinite(v) ? String(v) : 'null';
}

/** A CSV cell, quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
