/**
 * The model registry as the API uses it: push a version, list and get models and versions, open an
 * artifact by digest. {@link ModelCatalog} is the part of the registry the API may call (the
 * registry satisfies it; the server passes it), and {@link listModelSummaries} is the model list
 * the API shows, each model with its version count and latest version.
 */
import type { Model } from '../core/resources.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { PageOptions } from './deployment-changes.js';

/** See the module comment. */
export type ModelCatalog = Pick<
  ModelRegistry,
  'pushVersion' | 'getModel' | 'listModels' | 'getVersion' | 'listVersions' | 'openArtifact'
>;

/** A model as listed: the record, how many versions it has and the newest one. */
export type ModelSummary = Model & { versions: number; latestVersion: string | undefined };

/** One page of models, each summarised (see the module comment). */
export async function listModelSummaries(
  models: Pick<ModelCatalog, 'listModels' | 'listVersions'>,
  page: PageOptions,
): Promise<{ items: ModelSummary[]; continue?: string }> {
  const found = await models.listModels(page);
  const items = await Promise.all(
    found.items.map(async (m) => {
      const versions = await models.listVersions(m.name);
      return { ...m, versions: versions.length, latestVersion: versions[0]?.version };
    }),
  );
  return { items, ...(found.continue ? { continue: found.continue } : {}) };
}
