/**
 * The seed stack's reference model (../shared/baselines/seed-stack/train.py exports the same
 * scikit-learn weights as a pickle and as ONNX): served by Wharf, the probability for its sample
 * must equal scikit-learn's predict_proba to 1e-5.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureDebianPackages } from './support/debian.js';
import { seedStackDir } from './support/seed-stack.js';
import { startModelServer } from './support/processes.js';

const seedStack = seedStackDir();

test("Wharf serves the seed stack model with scikit-learn's probability (to 1e-5)", async (t) => {
  if (!existsSync(join(seedStack, 'train.py'))) {
    t.skip(`no seed stack at ${seedStack} (set WHARF_BASELINES_DIR)`);
    return;
  }
  if (!ensureDebianPackages(t, ['python3-sklearn', 'python3-onnx'])) return;
  const out = mkdtempSync(join(tmpdir(), 'wharf-seed-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const trained = spawnSync('/usr/bin/python3', ['train.py', out], {
    cwd: seedStack,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(trained.status, 0, trained.stderr);
  const expected = Number(/expected probability for sample: ([0-9.eE+-]+)/.exec(trained.stdout)?.[1]);
  assert.ok(Number.isFinite(expected), `train.py printed no expected probability: ${trained.stdout}`);

  const server = await startModelServer(['--model', join(out, 'model.onnx'), '--name', 'readmission']);
  t.after(() => server.stop());
  const res = await fetch(`${server.url}/v2/models/readmission/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: readFileSync(join(out, 'sample_v2.json')),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
  const probability = body.outputs.find((o) => o.name === 'probability')!.data[0]!;
  assert.ok(Math.abs(probability - expected) <= 1e-5, `Wharf ${probability} vs scikit-learn ${expected}`);
});
