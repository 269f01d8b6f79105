/**
 * What the end-to-end tests of `examples/` share: reading an example's multi-document stack.yaml,
 * adapting it to a test control plane, applying it with the real `wharf deploy apply -f`, and
 * pushing the demo readmission model under the name the examples use.
 *
 * An application or worker document names a bundle; {@link applyStack} first pushes the example's
 * folder for it with the real `wharf app push NAME DIR --version V` (as each example's README
 * says), so the replicas run the code unpacked from the registry. The command, args, env, health
 * checks, strategy and scaling are the example's own.
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

/** A bundle a stack names and the folder its code is pushed from. */
interface BundleSource {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
}

// The bundles of each stack that stackOf read, for applyStack to push first.
const BUNDLES_OF = new WeakMap<StackDocument[], BundleSource[]>();

/**
 * The documents of `examples/<example>/stack.yaml`, `edit`ed as text first (e.g. the gateway's
 * address, a unique queue name); `bundles` names the folder inside the example each bundle is
 * pushed from (bundle name → folder).
 */
export async function stackOf(
  example: string,
  bundles: Record<string, string>,
  edit: (text: string) => string = (t) => t,
): Promise<StackDocument[]> {
  const text = edit(await readFile(join(exampleDir(example), 'stack.yaml'), 'utf8'));
  const sources: BundleSource[] = [];
  const docs = parseAllDocuments(text).map((doc) => {
    const d = doc.toJSON() as StackDocument & { bundle?: { name: string; version: string } };
    if (d.bundle !== undefined) {
      const folder = bundles[d.bundle.name];
      assert.ok(folder !== undefined, `a folder for bundle ${d.bundle.name}`);
      if (!sources.some((b) => b.name === d.bundle!.name && b.version === d.bundle!.version))
        sources.push({ name: d.bundle.name, version: d.bundle.version, dir: join(exampleDir(example), folder) });
    }
    return d;
  });
  BUNDLES_OF.set(docs, sources);
  return docs;
}

/**
 * Pushes the stack's bundles with `wharf app push` (a version already pushed is left as it is:
 * versions are immutable), writes `docs` to a file in the control plane's home and runs
 * `wharf deploy apply -f FILE --wait`.
 */
export async function applyStack(e2e: E2eControlPlane, docs: StackDocument[], file: string): Promise<void> {
  for (const bundle of BUNDLES_OF.get(docs) ?? []) {
    const push = startWharf(['app', 'push', bundle.name, bundle.dir, '--version', bundle.version], e2e.cliEnv());
    const code = await push.exited;
    const known = (await e2e.api(`/api/v1/bundles/${bundle.name}/versions/${bundle.version}`)).status === 200;
    assert.ok(code === 0 || known, `wharf app push ${bundle.name} failed:\n${push.stdout()}\n${push.stderr()}`);
  }
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
