/**
 * Decodes records into rows the model can run: the row's id, its join values, and its feature values
 * per model input, checked against the model's signature. A record that does not fit (not JSON, wrong
 * width, not a number) becomes a {@link RowError} for the error file; the job goes on. A CSV header
 * that cannot fit the model (a named column missing, the wrong number of feature columns) is the
 * task's fault rather than a row's, and is refused as an {@link InvalidTaskError}.
 */
import { basename } from 'node:path';
import type { BatchInput, BatchOutput } from '../protocol/batch-task.js';
import type { InputPlan } from './model.js';
import type { RawRecord } from './records.js';
import { InvalidTaskError } from './task.js';

/** A row ready to run. */
export interface Row {
  readonly file: string;
  readonly line: number;
  readonly id: string | number;
  /** Values of the output's join columns, in their order (undefined where the row lacks one). */
  readonly join: readonly unknown[];
  /** Per model input, the row's `width` values. */
  readonly values: readonly (readonly number[])[];
}

/** A row that failed: what goes to the error file. */
export interface RowError {
  readonly file: string;
  readonly line: number;
  readonly id: string | number;
  readonly reason: string;
}

/** True for a {@link RowError}. */
export function isRowError(x: Row | RowError): x is RowError {
  return (x as RowError).reason !== undefined;
}

/** The largest finite float32. */
const FP32_MAX = 3.4028234663852886e38;

interface CsvPlan {
  readonly id: number | undefined;
  readonly features: readonly number[];
  readonly join: readonly number[];
}

/** Turns records into rows for one model and task. */
export class RowDecoder {
  private readonly csvPlans = new WeakMap<readonly string[], CsvPlan>();

  constructor(
    private readonly inputs: readonly InputPlan[],
    private readonly input: Pick<BatchInput, 'format' | 'columns' | 'idField'>,
    private readonly output: Pick<BatchOutput, 'joinColumns'>,
    /** With several input files a line number alone does not identify a row: ids become `file:line`. */
    private readonly multiFile: boolean,
  ) {
    if (input.format === 'csv' && inputs.length !== 1)
      throw new InvalidTaskError(
        `input.format: CSV columns fill one input tensor, and the model has ${inputs.length} (${inputs.map((i) => i.name).join(', ')}); use JSON Lines with named inputs`,
      );
  }

  /** The id of a row that has no id field. */
  private lineId(r: RawRecord): string | number {
    return this.multiFile ? `${basename(r.file)}:${r.line}` : r.line;
  }

  decode(r: RawRecord): Row | RowError {
    if (r.error !== undefined) return { file: r.file, line: r.line, id: this.lineId(r), reason: r.error };
    return r.fields !== undefined ? this.decodeCsv(r, r.fields, r.header!) : this.decodeJson(r, r.text ?? '');
  }

  private fail(r: RawRecord, id: string | number, reason: string): RowError {
    return { file: r.file, line: r.line, id, reason };
  }

  private decodeJson(r: RawRecord, text: string): Row | RowError {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return this.fail(r, this.lineId(r), `not JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(value)) {
      const id = this.lineId(r);
      if (this.inputs.length !== 1)
        return this.fail(r, id, `a feature array fits a model with one input; this one has ${this.inputs.length}`);
      const values = this.numbers(value, this.inputs[0]!);
      if (typeof values === 'string') return this.fail(r, id, values);
      return { file: r.file, line: r.line, id, join: this.joinOf(undefined), values: [values] };
    }
    if (typeof value !== 'object' || value === null)
      return this.fail(r, this.lineId(r), 'a line must be a feature array or an object with `inputs`');
    const obj = value as Record<string, unknown>;
    let id: string | number = this.lineId(r);
    if (this.input.idField !== undefined) {
      const v = obj[this.input.idField];
      if (typeof v !== 'string' && typeof v !== 'number')
        return this.fail(r, id, `id field '${this.input.idField}' is missing or not a string or number`);
      id = v;
    }
    const tensors = obj.inputs;
    const values: number[][] = [];
    for (const spec of this.inputs) {
      let data: unknown;
      if (Array.isArray(tensors)) {
        const named = tensors.find((t) => (t as { name?: unknown } | null)?.name === spec.name) as
          { data?: unknown } | undefined;
        // One input and one unnamed tensor: the name is not needed to match them.
        const only = this.inputs.length === 1 && tensors.length === 1 ? (tensors[0] as { data?: unknown }) : undefined;
        data = (named ?? only)?.data;
        if (data === undefined) return this.fail(r, id, `inputs has no tensor named '${spec.name}' with data`);
      } else if (typeof tensors === 'object' && tensors !== null) {
        data = (tensors as Record<string, unknown>)[spec.name];
        if (data === undefined) return this.fail(r, id, `inputs has no field '${spec.name}'`);
      } else {
        return this.fail(r, id, '`inputs` is missing: an array of tensors ({name, data}) or an object of named inputs');
      }
      if (!Array.isArray(data)) return this.fail(r, id, `input '${spec.name}': data is not an array`);
      const nums = this.numbers(data, spec);
      if (typeof nums === 'string') return this.fail(r, id, nums);
      values.push(nums);
    }
    return { file: r.file, line: r.line, id, join: this.joinOf(obj), values };
  }

  private joinOf(obj: Record<string, unknown> | undefined): unknown[] {
    return (this.output.joinColumns ?? []).map((c) => obj?.[c]);
  }

  /** The values of one input, flattened one level ([[…]] for a [1, n] tensor); a string says why not. */
  private numbers(data: readonly unknown[], spec: InputPlan): number[] | string {
    const flat = data.length === 1 && Array.isArray(data[0]) ? (data[0] as unknown[]) : data;
    if (flat.length !== spec.width)
      return `wrong width: ${flat.length} values for input '${spec.name}', the model takes ${spec.width}`;
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (typeof v !== 'number') return `input '${spec.name}' value ${i + 1} is not a number`;
      // JSON numbers are finite, so a float64 input needs no further check.
      if (spec.type === 'float64') continue;
      const bad = this.badValue(v, spec);
      if (bad !== undefined) return `input '${spec.name}' value ${i + 1} ${bad}`;
    }
    return flat as number[];
  }

  private badValue(v: number, spec: InputPlan): string | undefined {
    if (spec.type === 'float32')
      return v > FP32_MAX || v < -FP32_MAX || v !== v ? 'is out of float32 range' : undefined;
    if (!Number.isFinite(v)) return 'is not a finite number';
    if (spec.type === 'int32' && (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)) return 'is not an int32';
    if (spec.type === 'int64' && !Number.isSafeInteger(v)) return 'is not an integer';
    return undefined;
  }

  private csvPlan(header: readonly string[], file: string): CsvPlan {
    let plan = this.csvPlans.get(header);
    if (plan) return plan;
    const index = (name: string, field: string): number => {
      const i = header.indexOf(name);
      if (i < 0) throw new InvalidTaskError(`${field}: column '${name}' is not in the header of ${file}`);
      return i;
    };
    const { idField, columns } = this.input;
    const id = idField !== undefined ? index(idField, 'input.idField') : undefined;
    const features =
      columns !== undefined
        ? columns.map((c) => index(c, 'input.columns'))
        : header.flatMap((_, i) => (i === id ? [] : [i]));
    const spec = this.inputs[0]!;
    if (features.length !== spec.width)
      throw new InvalidTaskError(
        `input.columns: ${features.length} feature columns in ${file}, and model input '${spec.name}' takes ${spec.width}`,
      );
    const join = (this.output.joinColumns ?? []).map((c) => index(c, 'output.joinColumns'));
    plan = { id, features, join };
    this.csvPlans.set(header, plan);
    return plan;
  }

  private decodeCsv(r: RawRecord, fields: readonly string[], header: readonly string[]): Row | RowError {
    const plan = this.csvPlan(header, r.file);
    const id = plan.id !== undefined && fields[plan.id] !== undefined ? fields[plan.id]! : this.lineId(r);
    if (fields.length !== header.length)
      return this.fail(r, id, `wrong width: ${fields.length} fields, the header has ${header.length}`);
    const spec = this.inputs[0]!;
    const values = new Array<number>(plan.features.length);
    for (let k = 0; k < plan.features.length; k++) {
      const cell = fields[plan.features[k]!]!;
      const v = cell.trim() === '' ? NaN : Number(cell);
      const bad = Number.isNaN(v) ? 'is not a number' : this.badValue(v, spec);
      if (bad !== undefined) return this.fail(r, id, `column '${header[plan.features[k]!]}' ${bad}`);
      values[k] = v;
    }
    return { file: r.file, line: r.line, id, join: plan.join.map((i) => fields[i]), values: [values] };
  }
}
