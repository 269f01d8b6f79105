/**
 * What the serving benchmark needs before it starts a server: Debian packages, the baseline's
 * trained model (pickle + ONNX of the same weights, and request bodies), and Wharf's demo models.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runCommand } from './processes.js';

/** The Python interpreter Debian's python3-* packages are installed for (not a pyenv shim). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Packages the benchmark installs if missing: the load generator and the baseline stack. */
export const DEBIAN_PACKAGES = ['wrk', 'python3-fastapi', 'python3-uvicorn', 'python3-sklearn', 'python3-onnx'];

/** The baseline's trained model and request bodies for one row. */
export interface BaselineFixture {
  /** The seed-stack directory (app.py, train.py); uvicorn runs there. */
  seedStackDir: string;
  modelPkl: string;
  modelOnnx: string;
  /** `{"instances": [[...]]}` for POST /predict. */
  sampleBody: string;
  /** `{"inputs": [{"name": "input", "shape": [1, 16], ...}]}` for the inference protocol. */
  sampleV2Body: string;
  /** The probability train.py printed for the sample row (scikit-learn's `predict_proba`). */
  trainedProbability: number;
}

/** Runs `scripts/ensure-debian-packages.sh`, echoing apt's output; throws if it fails. */
export async function ensureDebianPackages(repoRoot: string, packages = DEBIAN_PACKAGES): Promise<void> {
  const result = await runCommand('bash', [join(repoRoot, 'scripts/ensure-debian-packages.sh'), ...packages], {
    echo: true,
  });
  if (result.code !== 0) throw new Error(`ensure-debian-packages.sh ${packages.join(' ')} exited with ${result.code}`);
}

/**
 * The seed-stack baseline directory: `$WHARF_BASELINES_DIR/seed-stack` (or `$WHARF_BASELINES_DIR`
 * itself when it already holds app.py), else `../shared/baselines/seed-stack` beside the repository,
 * else the byte-identical copy the tests carry (`test/fixtures/seed-stack`).
 */
export function locateSeedStack(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.WHARF_BASELINES_DIR;
  const candidates = override
    ? [resolve(override), resolve(override, 'seed-stack')]
    : [resolve(repoRoot, '../shared/baselines/seed-stack'), resolve(repoRoot, 'test/fixtures/seed-stack')];
  const found = candidates.find((dir) => existsSync(join(dir, 'app.py')) && existsSync(join(dir, 'train.py')));
  if (!found)
    throw new Error(
      `no seed-stack baseline (app.py + train.py) in ${candidates.join(' or ')}; set WHARF_BASELINES_DIR`,
    );
  return found;
}

/** Trains the baseline model into `outDir` with train.py and reads back what it wrote. */
export async function trainBaseline(seedStackDir: string, outDir: string): Promise<BaselineFixture> {
  const result = await runCommand(SYSTEM_PYTHON, ['train.py', outDir], { cwd: seedStackDir });
  if (result.code !== 0) throw new Error(`train.py exited with ${result.code}:\n${result.stderr}${result.stdout}`);
  const printed = /expected probability for sample:\s*(\S+)/.exec(result.stdout);
  const trainedProbability = Number(printed?.[1]);
  if (!Number.isFinite(trainedProbability))
    throw new Error(`train.py printed no expected probability:\n${result.stdout}`);
  return {
    seedStackDir,
    modelPkl: join(outDir, 'model.pkl'),
    modelOnnx: join(outDir, 'model.onnx'),
    sampleBody: (await readFile(join(outDir, 'sample.json'), 'utf8')).trim(),
    sampleV2Body: (await readFile(join(outDir, 'sample_v2.json'), 'utf8')).trim(),
    trainedProbability,
  };
}

/** True when `node bin/wharf.js serve-model --help` works, i.e. the model server is built. */
export async function wharfServeModelAvailable(repoRoot: string): Promise<boolean> {
  const result = await runCommand(process.execPath, [join(repoRoot, 'bin/wharf.js'), 'serve-model', '--help'], {
    cwd: repoRoot,
  }).catch(() => undefined);
  return result?.code === 0;
}

/** Paths written by `wharf demo-models`. */
export interface DemoModels {
  readmission: string;
  /** Input `input` FP32 [batch, 256], output `score`. */
  mlp: string;
}

/** Writes the demo models with `node bin/wharf.js demo-models --out DIR`; throws if it fails. */
export async function writeDemoModels(repoRoot: string, outDir: string): Promise<DemoModels> {
  const result = await runCommand(process.execPath, [join(repoRoot, 'bin/wharf.js'), 'demo-models', '--out', outDir], {
    cwd: repoRoot,
  });
  const models = { readmission: join(outDir, 'readmission.onnx'), mlp: join(outDir, 'mlp.onnx') };
  if (result.code !== 0 || !existsSync(models.mlp)) {
    throw new Error(
      `wharf demo-models --out ${outDir} exited with ${result.code} (mlp.onnx ${existsSync(models.mlp) ? 'written' : 'missing'}):\n${result.stderr}${result.stdout}`,
    );
  }
  return models;
}

/**
 * One inference-protocol row for the MLP: `features` deterministic values in [-1, 1], so every
 * run and every target sends the same bytes.
 */
export function mlpSampleBody(features = 256): string {
  const data = Array.from({ length: features }, (_, i) => Number(Math.sin(i * 12.9898 + 1).toFixed(6)));
  return JSON.stringify({ inputs: [{ name: 'input', shape: [1, features], datatype: 'FP32', data }] });
}
