/**
 * Helpers for the registry tests: a temp Wharf home with a real SQLite store and a filesystem blob
 * store, the demo models as files, and small probes of what the blob root holds.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { writeDemoModels } from '../../src/demo/write-demo-models.js';
import { FsBlobStore } from '../../src/registry/fs-blob-store.js';
import { ModelRegistry, type ModelRegistryOptions } from '../../src/registry/model-registry.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

/** A registry over real parts in a fresh temp home. */
export interface RegistryHome {
  readonly home: string;
  readonly blobRoot: string;
  readonly store: Store;
  readonly blobs: FsBlobStore;
  readonly registry: ModelRegistry;
  /** Demo model files (outside the blob root). */
  readonly models: { readmission: string; mlp: string };
  /** Closes the store and removes the home. */
  cleanup(): Promise<void>;
}

/** Opens a registry in a new temp home. */
export async function openRegistryHome(options: ModelRegistryOptions = {}): Promise<RegistryHome> {
  const home = await mkdtemp(join(tmpdir(), 'wharf-registry-'));
  const store = await openStore({ home });
  const blobRoot = join(home, 'blobs');
  const blobs = new FsBlobStore(blobRoot);
  const models = await writeDemoModels(join(home, 'demo'));
  const registry = new ModelRegistry(store, blobs, options);
  return {
    home,
    blobRoot,
    store,
    blobs,
    registry,
    models,
    cleanup: async () => {
      await store.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir`, relative to it, sorted; empty when `dir` does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** `sha256:<hex>` of a file's bytes. */
export async function sha256OfFile(path: string): Promise<`sha256:${string}`> {
  return `sha256:${createHash('sha256')
    .update(await readFile(path))
    .digest('hex')}`;
}

/** Reads a stream to one buffer. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** An endless body of `chunkSize`-byte chunks that counts what it yielded and whether it was stopped. */
export function endlessBody(chunkSize: number): {
  body: AsyncGenerator<Uint8Array>;
  yielded: () => number;
  stopped: () => boolean;
} {
  let yielded = 0;
  let stopped = false;
  async function* generate(): AsyncGenerator<Uint8Array> {
    try {
      const chunk = new Uint8Array(chunkSize).fill(7);
      for (;;) {
        yielded++;
        yield chunk;
      }
    } finally {
      stopped = true;
    }
  }
  return { body: generate(), yielded: () => yielded, stopped: () => stopped };
}
