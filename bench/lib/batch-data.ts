/**
 * Seeded input files for the batch benchmark: JSON Lines of feature arrays, written as a stream so
 * that a 1 GB file never sits in memory here either.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createRandom } from '../../src/demo/random.js';

/** Writes `rows` lines of `width` seeded features; stops early once `maxBytes` is reached. Returns rows written. */
export async function writeFeatureFile(
  path: string,
  opts: { rows: number; width: number; seed: number; maxBytes?: number },
): Promise<{ rows: number; bytes: number }> {
  const rng = createRandom(opts.seed);
  const out = createWriteStream(path);
  let bytes = 0;
  let rows = 0;
  const limit = opts.maxBytes ?? Infinity;
  while (rows < opts.rows && bytes < limit) {
    let chunk = '';
    for (let k = 0; k < 1000 && rows < opts.rows; k++, rows++) {
      let line = '[';
      for (let j = 0; j < opts.width; j++) line += (j ? ',' : '') + rng.normal().toFixed(4);
      chunk += line + ']\n';
    }
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { rows, bytes };
}

/** The same rows as {@link writeFeatureFile} would write, as float32 batches, without any text. */
export function featureBatches(opts: { rows: number; width: number; seed: number; batchSize: number }): Float32Array[] {
  const rng = createRandom(opts.seed);
  const batches: Float32Array[] = [];
  for (let start = 0; start < opts.rows; start += opts.batchSize) {
    const n = Math.min(opts.batchSize, opts.rows - start);
    const b = new Float32Array(n * opts.width);
    for (let i = 0; i < b.length; i++) b[i] = Number(rng.normal().toFixed(4));
    batches.push(b);
  }
  return batches;
}
