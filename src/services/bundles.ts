/**
 * Application bundles as the API uses them: the part of the bundle registry
 * (`registry/bundle-registry.ts`) the API may call; the server passes the registry.
 */
import type { BundleRegistry } from '../registry/bundle-registry.js';

/** See the module comment. */
export type BundleCatalog = Pick<BundleRegistry, 'pushVersion' | 'listBundles' | 'listVersions' | 'getVersion'>;
