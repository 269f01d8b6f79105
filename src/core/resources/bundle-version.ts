/**
 * Bundle versions: a semver version of an application bundle (`wharf app push NAME DIR --version
 * V`), a content-addressed `.tar.gz` of local code that `application` and `worker` replicas run
 * their command inside. The bytes live in the registry's blob store beside model artifacts (same
 * digests, same download route, same sweep of unreferenced blobs). Keyed `<bundle>/<version>`,
 * listed by bundle; immutable once pushed. A bundle has no record of its own: its name is the
 * `bundle` of its versions.
 */
import { defineKind, keyPart, splitKey } from './define-kind.js';
import type { Artifact } from './model-version.js';
import type { Labels, StoredFields } from './stored.js';

/** One pushed version of a bundle. */
export interface BundleVersion extends StoredFields {
  /** The bundle's name, a DNS label. */
  bundle: string;
  /** Semantic version, e.g. `1.2.0`. */
  version: string;
  /** The tarball (`filename` is what it was pushed as, e.g. `bundle.tar.gz`). */
  artifact: Artifact;
  /** How many regular files the tarball holds. */
  files: number;
  labels: Labels;
  createdAt: string;
}

/** What identifies a bundle version. */
export interface BundleVersionId {
  bundle: string;
  version: string;
}

/** Bundle versions in the store: keyed `<bundle>/<version>`, indexed (`parent`) by bundle. */
export const bundleVersionKind = defineKind<BundleVersion, BundleVersionId, { bundle?: string }>()({
  kind: 'BundleVersion',
  collection: 'bundleVersions',
  appendOnly: true,
  key: (id) => `${keyPart('bundle', id.bundle)}/${keyPart('version', id.version)}`,
  idOfKey: (key) => {
    const [bundle, version] = splitKey(key);
    return { bundle, version };
  },
  id: (o) => ({ bundle: o.bundle, version: o.version }),
  index: (o) => ({ environment: null, parent: o.bundle }),
  filter: (f) => (f.bundle === undefined ? {} : { parent: f.bundle }),
});
