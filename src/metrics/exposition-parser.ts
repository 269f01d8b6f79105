/**
 * A parser for the Prometheus text exposition format (version 0.0.4, what prom-client renders):
 * one sample per line, `name{label="value",…} value [timestamp]`, with `#` lines for HELP and TYPE.
 * Values follow Go's float syntax (`NaN`, `+Inf`, any case). Label values may hold escaped `\\`,
 * `\"` and `\n`, and any other character (commas and braces included), so labels are read with a
 * small scanner rather than a regular expression.
 */
import { InvalidArgumentError } from '../core/errors.js';

/** One sample line. */
export interface ExpositionSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** NaN, +Inf and -Inf are read as the numbers they name. */
  readonly value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Every sample in `text`, in order. Throws an {@link InvalidArgumentError} naming the line for
 * anything that is not the format.
 *
 * @example
 *   parseExposition('up{job="gw"} 1\n') // [{ name: 'up', labels: { job: 'gw' }, value: 1 }]
 */
export function parseExposition(text: string): ExpositionSample[] {
  const samples: ExpositionSample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      samples.push(parseLine(line));
    } catch (error) {
      throw new InvalidArgumentError(`exposition line ${n + 1}: ${(error as Error).message}: ${line.slice(0, 200)}`);
    }
  }
  return samples;
}

function parseLine(line: string): ExpositionSample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new Error('expected a metric name');
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1).trimStart();
    while (!rest.startsWith('}')) {
      const label = LABEL_NAME.exec(rest)?.[0];
      if (label === undefined) throw new Error('expected a label name');
      rest = rest.slice(label.length).trimStart();
      if (!rest.startsWith('=')) throw new Error(`expected '="' after label ${label}`);
      rest = rest.slice(1).trimStart();
      if (!rest.startsWith('"')) throw new Error(`expected '="' after label ${label}`);
      const [value, used] = quoted(rest, 1);
      labels[label] = value;
      rest = rest.slice(used).trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
      else if (!rest.startsWith('}')) throw new Error("expected ',' or '}' after a label value");
    }
    rest = rest.slice(1);
  }
  const fields = rest.trim().split(/\s+/);
  if (fields.length < 1 || fields.length > 2 || fields[0] === '')
    throw new Error('expected a value and an optional timestamp');
  const value = number(fields[0]!);
  if (value === undefined) throw new Error(`not a number: ${fields[0]}`);
  return { name, labels, value };
}

/** Reads a label value starting at `start` (just after the opening quote): [value, index after the closing quote]. */
function quoted(s: string, start: number): [string, number] {
  let out = '';
  for (let i = start; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return [out, i + 1];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = s[++i];
    if (next === 'n') out += '\n';
    else if (next === '\\' || next === '"') out += next;
    else throw new Error(`unknown escape \\${next ?? ''} in a label value`);
  }
  throw new Error('unterminated label value');
}

/** Like Go's ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client writes `Nan`). */
function number(s: string): number | undefined {
  const lower = s.toLowerCase();
  if (lower === 'nan') return NaN;
  if (/^\+?inf(inity)?$/.test(lower)) return Infinity;
  if (/^-inf(inity)?$/.test(lower)) return -Infinity;
  const v = Number(s);
  return Number.isNaN(v) ? undefined : v;
}
