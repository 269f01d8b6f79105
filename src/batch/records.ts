/**
 * Splits an input's bytes into records: lines for JSON Lines, RFC 4180 records for CSV (quoted
 * fields may hold commas, doubled quotes and line breaks). Each record keeps the file and the line
 * it started on, for the error file. A malformed CSV record or an overlong line becomes a record
 * with an `error`, so that a bad row is data and the reading goes on.
 */
import { StringDecoder } from 'node:string_decoder';
import type { BatchInput } from '../protocol/batch-task.js';
import { fileBytes, type InputFile } from './input-files.js';

/** One record of the input, not yet decoded. */
export interface RawRecord {
  readonly file: string;
  /** 1-based line number (in its file) where the record starts. */
  readonly line: number;
  /** JSON Lines: the line's text. */
  readonly text?: string;
  /** CSV: the fields, and the header of the file they came from. */
  readonly fields?: string[];
  readonly header?: readonly string[];
  /** Set when the record could not even be split (unbalanced quotes, overlong line). */
  readonly error?: string;
}

/** The longest line or record accepted; a longer one is an error row, not an unbounded buffer. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

/** Every record of every file, in order. */
export async function* readRecords(
  files: readonly InputFile[],
  input: Pick<BatchInput, 'format' | 'compression'>,
): AsyncGenerator<RawRecord> {
  for (const file of files) {
    const bytes = fileBytes(file, input.compression);
    if (input.format === 'jsonl') yield* jsonLines(file.name, bytes);
    else yield* csvRecords(file.name, bytes);
  }
}

/** Lines of a byte stream; blank lines are skipped (they are not rows), a BOM is dropped. */
export async function* jsonLines(name: string, bytes: AsyncIterable<Buffer>): AsyncGenerator<RawRecord> {
  let carry: Buffer[] = [];
  let carryLength = 0;
  let line = 0;
  let overlong = false;
  const emit = (text: string): RawRecord | undefined => {
    line++;
    if (overlong) {
      overlong = false;
      return { file: name, line, error: `line longer than ${MAX_RECORD_CHARS} bytes` };
    }
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const end = text.endsWith('\r') ? text.length - 1 : text.length;
    const body = end === text.length ? text : text.slice(0, end);
    return body.trim() === '' ? undefined : { file: name, line, text: body };
  };
  for await (const chunk of bytes) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      let text: string;
      if (carryLength > 0) {
        carry.push(chunk.subarray(start, nl));
        text = Buffer.concat(carry).toString('utf8');
        carry = [];
        carryLength = 0;
      } else text = chunk.toString('utf8', start, nl);
      start = nl + 1;
      const record = emit(text);
      if (record) yield record;
    }
    if (start < chunk.length && !overlong) {
      carry.push(chunk.subarray(start));
      carryLength += chunk.length - start;
      // Drop the rest of the line, keep counting: the line becomes one error row.
      if (carryLength > MAX_RECORD_CHARS) {
        overlong = true;
        carry = [];
        carryLength = 0;
      }
    }
  }
  if (carryLength > 0 || overlong) {
    const record = emit(Buffer.concat(carry).toString('utf8'));
    if (record) yield record;
  }
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/**
 * RFC 4180 records; the first record of the file is its header. A stray quote in an unquoted field or
 * text after a closing quote makes the record an error (read on to its end); an unclosed quote at the
 * end of the file, or a record beyond {@link MAX_RECORD_CHARS}, too.
 */
export async function* csvRecords(name: string, bytes: AsyncIterable<Buffer>): AsyncGenerator<RawRecord> {
  const decoder = new StringDecoder('utf8');
  let header: string[] | undefined;
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let afterQuote = false; // a quoted field just closed
  let error: string | undefined;
  let line = 1; // current physical line
  let startLine = 1; // line where the current record started
  let size = 0;
  let atRecordStart = true;
  let first = true;
  const out: RawRecord[] = [];
  const endRecord = (): void => {
    fields.push(field);
    if (header === undefined && error === undefined) header = fields;
    else if (!(fields.length === 1 && fields[0] === '' && error === undefined)) {
      out.push(
        error !== undefined ? { file: name, line: startLine, error } : { file: name, line: startLine, fields, header },
      );
    }
    fields = [];
    field = '';
    error = undefined;
    afterQuote = false;
    size = 0;
    atRecordStart = true;
  };
  const consume = (text: string): void => {
    let i = 0;
    if (first && text.charCodeAt(0) === 0xfeff) i = 1;
    first = false;
    const n = text.length;
    while (i < n) {
      if (atRecordStart) {
        startLine = line;
        atRecordStart = false;
      }
      if (quoted) {
        const q = text.indexOf('"', i);
        const end = q < 0 ? n : q;
        const piece = text.slice(i, end);
        for (let k = piece.indexOf('\n'); k >= 0; k = piece.indexOf('\n', k + 1)) line++;
        if (error === undefined) field += piece;
        size += end - i;
        i = end;
        if (q < 0) break;
        // A doubled quote is a literal quote; one quote closes the field (the next char may be in the next chunk).
        if (i + 1 >= n) {
          pendingQuote = true;
          break;
        }
        if (text.charCodeAt(i + 1) === QUOTE) {
          if (error === undefined) field += '"';
          i += 2;
        } else {
          quoted = false;
          afterQuote = true;
          i++;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        fields.push(field);
        field = '';
        afterQuote = false;
      } else if (c === LF) {
        line++;
        endRecord();
      } else if (c === CR) {
        // CR LF ends a record at the LF; a lone CR is kept out of the field.
      } else if (c === QUOTE && field === '' && !afterQuote) {
        quoted = true;
      } else if (afterQuote) {
        error ??= `text after a closing quote in field ${fields.length + 1}`;
      } else if (c === QUOTE) {
        error ??= `a quote inside unquoted field ${fields.length + 1}`;
      } else {
        // Copy the run of plain characters in one slice.
        let j = i + 1;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === COMMA || d === LF || d === CR || d === QUOTE) break;
          j++;
        }
        field += text.slice(i, j);
        size += j - i;
        i = j;
        continue;
      }
      size++;
      i++;
      if (size > MAX_RECORD_CHARS && error === undefined) {
        error = `record longer than ${MAX_RECORD_CHARS} characters`;
        field = '';
        fields = [];
      }
    }
  };
  let pendingQuote = false;
  for await (const chunk of bytes) {
    let text = decoder.write(chunk);
    if (pendingQuote) {
      pendingQuote = false;
      // The chunk ended on a quote inside a quoted field: decide now whether it was doubled.
      if (text.charCodeAt(0) === QUOTE) {
        if (error === undefined) field += '"';
        text = text.slice(1);
      } else {
        quoted = false;
        afterQuote = true;
      }
    }
    consume(text);
    if (quoted && size > MAX_RECORD_CHARS) {
      // An unclosed quote must not buffer the rest of the file: fail the record, resync at the next line.
      quoted = false;
      error ??= `record longer than ${MAX_RECORD_CHARS} characters (unclosed quote?)`;
    }
    if (out.length > 0) yield* out.splice(0);
  }
  if (pendingQuote) {
    quoted = false;
    afterQuote = true;
  }
  consume(decoder.end());
  if (quoted) error ??= 'unclosed quote at the end of the file';
  if (!atRecordStart || quoted) endRecord();
  yield* out.splice(0);
}
