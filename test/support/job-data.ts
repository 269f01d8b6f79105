/** Seeded inputs for batch-job tests: CSV rows of the demo readmission model (16 features + an id). */
import { writeFileSync } from 'node:fs';

/** Writes `rows` rows of `features` seeded values with an `id` column; returns the file. */
export function writeFeatureCsv(file: string, rows: number, features = 16, seed = 7): string {
  let x = seed;
  const next = (): number => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const header = ['id', ...Array.from({ length: features }, (_, i) => `f${i}`)].join(',');
  const lines = [header];
  for (let r = 0; r < rows; r++)
    lines.push([`row-${r}`, ...Array.from({ length: features }, () => next().toFixed(4))].join(','));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
