/**
 * The batch engine's readers: RFC 4180 CSV and JSON Lines split into records the same way whatever
 * the chunk boundaries, bad records become error records with their line, and gzip is detected.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { listInputFiles } from '../src/batch/input-files.js';
import { csvRecords, jsonLines, readRecords, type RawRecord } from '../src/batch/records.js';

async function* chunked(text: string, cuts: readonly number[]): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    const end = Math.min(bytes.length, c);
    if (end > at) yield bytes.subarray(at, end);
    at = Math.max(at, end);
  }
  if (at < bytes.length) yield bytes.subarray(at);
}

async function collect(gen: AsyncIterable<RawRecord>): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  for await (const r of gen) out.push(r);
  return out;
}

const CSV = 'id,a,"b, c"\r\n1,2,"x ""quoted"" y"\n2,"multi\nline",3\n\n3,4,5';

test('CSV: quoted commas, doubled quotes and line breaks in fields, CRLF, a blank line, no final newline', async () => {
  const records = await collect(csvRecords('f.csv', chunked(CSV, [])));
  assert.deepEqual(
    records.map((r) => [r.line, r.fields]),
    [
      [2, ['1', '2', 'x "quoted" y']],
      [3, ['2', 'multi\nline', '3']],
      [6, ['3', '4', '5']],
    ],
  );
  assert.deepEqual(records[0]!.header, ['id', 'a', 'b, c']);
});

test('CSV and JSON Lines give the same records wherever the chunks are cut (multi-byte text too)', async () => {
  const json = '{"a":"é✓"}\r\n\n[1,2]\n  \n{"b":"\\n"}';
  const csvWhole = await collect(csvRecords('f', chunked(CSV, [])));
  const jsonWhole = await collect(jsonLines('f', chunked(json, [])));
  assert.deepEqual(
    jsonWhole.map((r) => [r.line, r.text]),
    [
      [1, '{"a":"é✓"}'],
      [3, '[1,2]'],
      [5, '{"b":"\\n"}'],
    ],
  );
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 8 }), async (cuts) => {
      assert.deepEqual(await collect(csvRecords('f', chunked(CSV, cuts))), csvWhole);
      assert.deepEqual(await collect(jsonLines('f', chunked(json, cuts))), jsonWhole);
    }),
    { numRuns: 200 },
  );
});

test('CSV: a stray quote, text after a closing quote and an unclosed quote are error records; reading goes on', async () => {
  const text = 'a,b\n1,x"y\n2,"z"w\n3,4\n5,"never closed\n6,7\n';
  const records = await collect(csvRecords('bad.csv', chunked(text, [7])));
  assert.deepEqual(
    records.map((r) => [r.line, r.error ?? r.fields]),
    [
      [2, 'a quote inside unquoted field 2'],
      [3, 'text after a closing quote in field 2'],
      [4, ['3', '4']],
      [5, 'unclosed quote at the end of the file'],
    ],
  );
});

test('gzip input is detected by name and by magic bytes; files of a directory are read in name order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-records-'));
  await writeFile(join(dir, 'b.jsonl.gz'), gzipSync('[3]\n[4]\n'));
  await writeFile(join(dir, 'a.data'), gzipSync('[1]\n[2]\n'));
  await writeFile(join(dir, '.hidden'), 'not data');
  const files = await listInputFiles(dir);
  assert.deepEqual(
    files.map((f) => f.name),
    [join(dir, 'a.data'), join(dir, 'b.jsonl.gz')],
  );
  const records = await collect(readRecords(files, { format: 'jsonl' }));
  assert.deepEqual(
    records.map((r) => r.text),
    ['[1]', '[2]', '[3]', '[4]'],
  );
  // compression: none reads the gzip bytes as text: garbage lines, but no crash.
  const raw = await collect(readRecords(files.slice(0, 1), { format: 'jsonl', compression: 'none' }));
  assert.ok(raw.length >= 1 && raw[0]!.text !== '[1]');
});
