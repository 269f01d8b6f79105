/**
 * A real SQLite store in a temp directory, seeded with environments and model versions, for the
 * deployment service and controller tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewResource } from '../../src/core/resources.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

/** Digests of the seeded model versions, by version. */
export const DIGESTS = {
  '1.3.0': `sha256:${'13'.repeat(32)}`,
  '1.4.0': `sha256:${'14'.repeat(32)}`,
} as const;

/** A store with environments `staging` and `production`, model `readmission` 1.3.0 and 1.4.0. */
export interface TestStore {
  store: Store;
  home: string;
  /** Closes the store and removes its directory. */
  cleanup(): Promise<void>;
}

function modelVersion(version: keyof typeof DIGESTS): NewResource<'ModelVersion'> {
  return {
    model: 'readmission',
    version,
    artifact: { digest: DIGESTS[version] as `sha256:${string}`, size: 1234, filename: 'model.onnx' },
    signature: {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 8] }],
      outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 2] }],
    },
    labels: {},
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

/** Opens and seeds a fresh store (watchers poll every 50 ms as a safety net). */
export async function seededStore(): Promise<TestStore> {
  const home = mkdtempSync(join(tmpdir(), 'wharf-deploy-'));
  const store = await openStore({ home, pollIntervalMs: 50 });
  for (const name of ['staging', 'production']) {
    await store.environments.create({ name, runtime: 'local', policies: { requiresApproval: false }, labels: {} });
  }
  await store.models.create({ name: 'readmission', description: 'readmission risk', labels: {} });
  await store.modelVersions.create(modelVersion('1.3.0'));
  await store.modelVersions.create(modelVersion('1.4.0'));
  return {
    store,
    home,
    cleanup: async () => {
      await store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
