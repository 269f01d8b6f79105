/**
 * What the end-to-end tests of `examples/` share: reading an example's multi-document stack.yaml,
 * adapting it to a test control plane, applying it with the real `wharf deploy apply -f`, and
 * pushing the demo readmission model under the name the examples use.
 *
 * Until `wharf app push` exists (the bundle upload of issue 15), an application or worker document
 * runs its code from the example's own folder: its `bundle` is replaced by an absolute
 * `workingDir` (the local runtime runs a command there when there is no bundle). The command,
 * args, env, health checks, strategy and scaling are the example's own.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { writeDemoModels } from '../../src/demo/write-demo-models.js';
import type { E2eControlPlane } from './control-plane-e2e.js';
import { REPO_ROOT, startWharf } from './processes.js';

/** The folder of `examples/<example>`. */
export function exampleDir(example: string): string {
  return join(REPO_ROOT, 'examples', example);
}

/** A stack document, as parsed. */
export type StackDocument = Record<string, unknown> & { name: string; configuration: Record<string, unknown> };

/**
 * The documents of `examples/<example>/stack.yaml`, each bundle replaced by the folder its code is
 * pushed from (`bundles`: bundle name → folder inside the example), then `edit`ed as text
 * (e.g. the gateway's address, a unique queue name).
 */
export async function stackOf(
  example: string,
  bundles: Record<string, string>,
  edit: (text: string) => string = (t) => t,
): Promise<StackDocument[]> {
  const text = edit(await readFile(join(exampleDir(example), 'stack.yaml'), 'utf8'));
  return parseAllDocuments(text).map((doc) => {
    const d = doc.toJSON() as StackDocument & { bundle?: { name: string } };
    if (d.bundle !== undefined) {
      const folder = bundles[d.bundle.name];
      assert.ok(folder !== undefined, `a folder for bundle ${d.bundle.name}`);
      delete d.bundle;
      d.configuration.workingDir = join(exampleDir(example), folder);
    }
    return d;
  });
}

/** Writes `docs` to a file in the control plane's home and runs `wharf deploy apply -f FILE --wait`. */
export async function applyStack(e2e: E2eControlPlane, docs: StackDocument[], file: string): Promise<void> {
  const path = join(e2e.home, file);
  await writeFile(path, docs.map((d) => stringify(d)).join('---\n'));
  const apply = startWharf(['deploy', 'apply', '-f', path, '--wait', '--timeout', '60'], e2e.cliEnv());
  const code = await apply.exited;
  assert.equal(code, 0, `wharf deploy apply failed:\n${apply.stdout()}\n${apply.stderr()}`);
}

/** Pushes the demo readmission model as `readmission` at each of `versions`. */
export async function pushReadmission(e2e: E2eControlPlane, versions: readonly string[]): Promise<void> {
  const file = await readFile((await writeDemoModels(join(e2e.home, 'example-models'))).readmission);
  for (const version of versions) {
    await e2e.cp.registry.pushVersion(
      { model: 'readmission', version, filename: 'readmission.onnx', labels: {} },
      (async function* () {
        yield file;
      })(),
    );
  }
}

/** An Open Inference Protocol body for the readmission model (16 features). */
export function readmissionBody(features: readonly number[]): string {
  return JSON.stringify({ inputs: [{ name: 'input', shape: [1, features.length], datatype: 'FP32', data: features }] });
}

/** The probability in an inference answer of the readmission model. */
export function probabilityOf(answer: unknown): number {
  const outputs = (answer as { outputs?: { name: string; data: number[] }[] }).outputs ?? [];
  const p = outputs.find((o) => o.name === 'probability')?.data[0];
  assert.ok(typeof p === 'number' && p > 0 && p < 1, `a probability in (0, 1): ${JSON.stringify(answer)}`);
  return p;
}
