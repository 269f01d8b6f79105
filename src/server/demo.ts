/** First-start demo: register the readmission model 1.0.0 and deploy it to development. */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { unlessNotFound } from '../core/errors.js';
import { writeDemoModels } from '../demo/write-demo-models.js';
import { modelInferPath } from '../protocol/oip-paths.js';
import type { ControlPlane } from './control-plane.js';

/** Pushes and deploys the demo unless they already exist; returns the URL to call. */
export async function seedDemo(cp: ControlPlane, home: string): Promise<string> {
  if ((await unlessNotFound(cp.registry.getVersion('readmission', '1.0.0'))) === undefined) {
    const { readmission } = await writeDemoModels(join(home, 'models'));
    await cp.registry.pushVersion(
      {
        model: 'readmission',
        version: '1.0.0',
        filename: 'readmission.onnx',
        description: '30-day readmission risk (demo, synthetic data)',
      },
      createReadStream(readmission),
    );
  }
  if ((await unlessNotFound(cp.deployments.get('readmission', 'development'))) === undefined) {
    await cp.deployments.create(
      {
        name: 'readmission',
        environment: 'development',
        model: { name: 'readmission', version: '1.0.0' },
        configuration: { replicas: 2 },
      },
      { actor: 'wharf-demo', reason: 'demo deployment on first start' },
    );
  }
  return `${cp.gatewayUrl}/development/readmission${modelInferPath('readmission')}`;
}
