/**
 * The README's examples run as written. A newcomer copies them into a shell next to `npm start`, so
 * this test does the same: it starts `wharf up` (what `npm start` runs) in an empty folder, then runs
 * every shell block in document order against it, with `npx wharf` resolving to this checkout's
 * launcher. Every YAML block must be accepted by the same validation that `deploy apply` uses.
 * Two edits are made to a command: the port (the test's `wharf up` listens on free ports instead
 * of 8080/8000, which a developer's own `npm start` may hold), and `curl -s` becomes `curl -sf`,
 * because curl exits 0 on a 404 or a 500 and the example would then pass without its answer.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { validateAnalysisTemplate } from '../src/core/analysis/template.js';
import { specFromInput, type DeploymentInput } from '../src/core/deployment-spec.js';
import { WORKLOAD_SPEC_KINDS } from '../src/workloads/workload-kind.js';
import { freePort } from './support/ports.js';
import { adminAuth, REPO_ROOT, startWharf, WHARF_BIN, type WharfProcess } from './support/processes.js';
import { pidsWithArg } from './support/process-scan.js';
import { readmeBlocks, shellCommands, yamlAlternatives } from './support/readme.js';
import { eventually } from './support/eventually.js';

const blocks = readmeBlocks(REPO_ROOT);
let folder = '';
let apiPort = 0;
let gatewayPort = 0;
let up: WharfProcess;

/** A command's outcome: exit code (or signal), output. */
interface Outcome {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** `npx wharf …` in the examples means this checkout's launcher, as it does in a checkout. */
async function writeNpxShim(dir: string): Promise<void> {
  const shim = join(dir, 'npx');
  await writeFile(
    shim,
    `#!/bin/sh\nif [ "$1" = wharf ]; then shift; exec "${process.execPath}" "${WHARF_BIN}" "$@"; fi\nexec npx "$@"\n`,
  );
  await chmod(shim, 0o755);
}

function asTested(command: string): string {
  return command
    .replace(/^curl -s /, 'curl -sf ')
    .replace(/\b(127\.0\.0\.1|localhost):8080\b/g, `127.0.0.1:${apiPort}`)
    .replace(/\b(127\.0\.0\.1|localhost):8000\b/g, `127.0.0.1:${gatewayPort}`);
}

/** Runs one command with sh; a following command (`logs -f`) passes once it has printed a line. */
function run(command: string, timeoutMs = 240_000): Promise<Outcome> {
  const follows = /\bwharf logs\b.*\s-f\b/.test(command);
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], {
      cwd: folder,
      env: {
        ...process.env,
        PATH: `${join(folder, '.bin')}:${process.env.PATH}`,
        WHARF_URL: `http://127.0.0.1:${apiPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    const stop = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(stop, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (follows && stdout.includes('\n')) stop();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const followed = follows && signal === 'SIGKILL' && stdout.includes('\n');
      resolve({ code: followed ? 0 : (code ?? signal ?? 'unknown'), stdout, stderr });
    });
  });
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'wharf-readme-'));
  await mkdir(join(folder, '.bin'));
  await writeNpxShim(join(folder, '.bin'));
  for (const block of blocks) if (block.file) await writeFile(join(folder, block.file), `${block.text}\n`);
  apiPort = await freePort();
  gatewayPort = await freePort();
  // Where the user typed `npm start`: the data folder is ./.wharf there, as the tour's push expects.
  up = startWharf(['up', '--port', String(apiPort), '--gateway-port', String(gatewayPort)], {}, folder);
  await eventually(
    async () => {
      const r = await fetch(`http://127.0.0.1:${apiPort}/api/v1/environments/development/deployments/readmission`, {
        headers: adminAuth(join(folder, '.wharf')),
      }).catch(() => undefined);
      if (r?.status !== 200) return undefined;
      const d = (await r.json()) as { status: { phase: string } };
      return d.status.phase === 'running' ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 100, message: 'wharf up to deploy its demo model' },
  );
});

after(async () => {
  if (up && up.child.exitCode === null) {
    up.child.kill('SIGTERM');
    await up.exited;
  }
  assert.deepEqual(pidsWithArg(folder), [], 'no replica outlives wharf up');
  await rm(folder, { recursive: true, force: true });
});

const shellBlocks = blocks.filter((b) => b.language === 'sh');

test('the README has runnable shell examples, and says why the others are not run here', () => {
  assert.ok(shellBlocks.filter((b) => !b.skip).length >= 3, 'the tour, safe releases and autoscaling blocks run');
  for (const b of shellBlocks.filter((x) => x.skip))
    assert.ok(b.skip!.length > 10, `README.md:${b.line}: a skipped block says why`);
});

test('every shell example of the README runs as written, in order', async (t) => {
  for (const block of shellBlocks) {
    if (block.skip) {
      t.diagnostic(`README.md:${block.line} (${block.section}) not run: ${block.skip}`);
      continue;
    }
    for (const command of shellCommands(block)) {
      const outcome = await run(asTested(command));
      assert.equal(
        outcome.code,
        0,
        `README.md:${block.line} (${block.section}): \`${command}\` exited ${outcome.code}\n${outcome.stdout.slice(-1500)}\n${outcome.stderr.slice(-1500)}`,
      );
    }
  }
});

test('no controller failed to reconcile while the examples ran', () => {
  // The CLI answering 0 is not enough: the tour's autoscale step once left its deployment's
  // controller retrying the same refused change forever, with every command still exiting 0.
  const log = `${up.stdout()}${up.stderr()}`;
  const failures = log.split('\n').filter((line) => line.includes('controller: '));
  assert.deepEqual(failures, [], 'the control plane logged reconcile errors');
});

test('every YAML example of the README is accepted by the validation that apply uses', () => {
  const base = { name: 'readme-example', environment: 'development', model: { name: 'readmission', version: '1.0.0' } };
  let checked = 0;
  for (const block of blocks.filter((b) => b.language === 'yaml' && !b.skip)) {
    for (const alternative of yamlAlternatives(block)) {
      const doc = parse(alternative) as Record<string, unknown>;
      const where = `README.md:${block.line} (${block.section})`;
      if (doc.kind === 'AnalysisTemplate') {
        const { kind: _kind, ...template } = doc;
        assert.doesNotThrow(() => validateAnalysisTemplate(template), where);
      } else {
        const input = (doc.name === undefined ? { ...base, ...doc } : doc) as unknown as DeploymentInput;
        assert.doesNotThrow(() => specFromInput(input, WORKLOAD_SPEC_KINDS), `${where}: ${alternative.slice(0, 80)}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 8, `checked ${checked} YAML examples`);
});
