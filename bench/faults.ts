/**
 * `npm run bench:faults`: the long versions of the fault tests of issue 17, one table of figure
 * against goal. It runs the compiled test files with longer settings (the control plane down for
 * 60 s, 50 kills during writes, 100 fuzz runs per API operation) and collects the `FIGURE:` lines
 * each prints (test/support/faults.ts). A goal of the form `0` or `< N unit` is checked; others are
 * printed for reading. A test that fails is a row of its own.
 */
import { spawn } from 'node:child_process';
import { runMain } from './lib/run-main.js';
import { formatTable } from './lib/table.js';

/** The test files, with the settings of their long version. */
const RUNS: readonly { file: string; env: Record<string, string> }[] = [
  { file: 'dist/test/control-plane-kill.test.js', env: { WHARF_FAULTS_DOWN_MS: '60000', WHARF_FAULTS_KILLS: '50' } },
  { file: 'dist/test/database-down.test.js', env: {} },
  { file: 'dist/test/disk-full.test.js', env: {} },
  { file: 'dist/test/hostile-clients.test.js', env: {} },
  { file: 'dist/test/api-fuzz.test.js', env: { WHARF_FUZZ_RUNS: '100' } },
];

const FIGURE = /FIGURE: (.+) = (-?[\d.]+) ?(.*?) \(goal: (.+)\)$/;

/** Whether `value` meets `goal` ("0", "< 100 ms", "< 10 s"); undefined when the goal is prose. */
function met(value: number, goal: string): boolean | undefined {
  if (goal.trim() === '0') return value === 0;
  const below = /^< ([\d.]+)/.exec(goal.trim());
  return below ? value < Number(below[1]) : undefined;
}

/** Runs one test file; resolves with its output and whether it passed. */
function runTest(file: string, env: Record<string, string>): Promise<{ out: string; passed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=1800000', file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', (code) => resolve({ out, passed: code === 0 }));
  });
}

async function main(): Promise<number> {
  const rows: string[][] = [];
  for (const { file, env } of RUNS) {
    process.stderr.write(`running ${file} ${JSON.stringify(env)}\n`);
    const { out, passed } = await runTest(file, env);
    for (const line of out.split('\n')) {
      const m = FIGURE.exec(line);
      if (m === null) continue;
      const [, name, value, unit, goal] = m as unknown as [string, string, string, string, string];
      const verdict = met(Number(value), goal);
      rows.push([name, `${value} ${unit}`.trim(), goal, verdict === undefined ? '-' : verdict ? 'met' : 'MISSED']);
    }
    if (!passed) rows.push([`${file}: a test FAILED (see its output above)`, '', '', 'MISSED']);
  }
  process.stdout.write(`${formatTable(['figure', 'value', 'goal', ''], rows, ['left', 'right', 'left', 'left'])}\n`);
  return 0;
}

runMain('faults', main);
