/**
 * The store reads and writes behind the model registry: every version of a model, the artifact
 * digests versions reference (bundle versions' too: they share the blob store), whether one digest is referenced, and creating a model on its first
 * push. They read every version page by page: the store has no index on artifact digests.
 */
import { unlessNotFound } from '../core/errors.js';
import type { ModelVersion } from '../core/resources.js';
import type { Store, StoreCollections } from '../store/store.js';
import type { ValidPushInput } from './push-input.js';

// The store's largest page: listing a model's versions or scanning references takes few round trips.
const PAGE = 1000;

/** Creates the model of a first push if it does not exist yet. */
export async function ensureModel(tx: StoreCollections, valid: ValidPushInput): Promise<void> {
  if ((await unlessNotFound(tx.models.get(valid.model))) === undefined)
    await tx.models.create({ name: valid.model, description: valid.description, labels: {} });
}

/** Every version of `model`, in store order, read page by page. */
export async function allVersions(c: StoreCollections, model: string): Promise<ModelVersion[]> {
  const items: ModelVersion[] = [];
  let token: string | undefined;
  do {
    const page = await c.modelVersions.list({
      model,
      limit: PAGE,
      ...(token === undefined ? {} : { continue: token }),
    });
    items.push(...page.items);
    token = page.continue;
  } while (token !== undefined);
  return items;
}

/** The digests every model version's artifact and every bundle version's tarball names. */
export async function referencedDigests(store: Store): Promise<Set<string>> {
  const digests = new Set<string>();
  let token: string | undefined;
  do {
    const page = await store.modelVersions.list({ limit: PAGE, ...(token === undefined ? {} : { continue: token }) });
    for (const v of page.items) digests.add(v.artifact.digest);
    token = page.continue;
  } while (token !== undefined);
  do {
    const page = await store.bundleVersions.list({ limit: PAGE, ...(token === undefined ? {} : { continue: token }) });
    for (const v of page.items) digests.add(v.artifact.digest);
    token = page.continue;
  } while (token !== undefined);
  return digests;
}

// The store has no index on artifact digests, so this reads every version. It runs only when a push
// fails; a digest filter on ModelVersion lists would make it one query.
export async function isReferenced(store: Store, digest: string): Promise<boolean> {
  let token: string | undefined;
  do {
    const page = await store.modelVersions.list({ limit: PAGE, ...(token === undefined ? {} : { continue: token }) });
    if (page.items.some((v) => v.artifact.digest === digest)) return true;
    token = page.continue;
  } while (token !== undefined);
  do {
    const page = await store.bundleVersions.list({ limit: PAGE, ...(token === undefined ? {} : { continue: token }) });
    if (page.items.some((v) => v.artifact.digest === digest)) return true;
    token = page.continue;
  } while (token !== undefined);
  return false;
}
