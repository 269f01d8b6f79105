// The model registry over real parts: SQLite in a temp home, blobs on disk, the demo ONNX models,
// and ONNX Runtime validating every push. Failed pushes must leave nothing behind.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError, NotFoundError, PayloadTooLargeError } from '../src/core/errors.js';
import { type FixturePaths, writeFixtureModels } from '../src/demo/write-demo-models.js';
import { VersionExistsError } from '../src/registry/errors.js';
import type { ModelRegistry } from '../src/registry/model-registry.js';
import { AlreadyExistsError } from '../src/store/errors.js';
import {
  endlessBody,
  filesUnder,
  openRegistryHome,
  readAll,
  type RegistryHome,
  sha256OfFile,
} from './support/registry.js';

async function* bytes(data: Uint8Array): AsyncGenerator<Uint8Array> {
  // Several chunks, as a network upload would arrive.
  for (let i = 0; i < data.byteLength; i += 1000) yield data.subarray(i, i + 1000);
}

/** A body that records whether anyone started reading it. */
function untouchedBody(): { body: AsyncGenerator<Uint8Array>; read: () => boolean } {
  let read = false;
  async function* gen(): AsyncGenerator<Uint8Array> {
    read = true;
    yield new Uint8Array(1);
  }
  return { body: gen(), read: () => read };
}

function assertInvalid(field: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof InvalidArgumentError, String(err));
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, new RegExp(`^${field}: `));
    return true;
  };
}

/** Everything a failed push could have touched: the change feed, the blob files (temp included). */
async function snapshot(h: RegistryHome): Promise<{ sequence: number; files: string[] }> {
  return { sequence: await h.store.latestSequence(), files: await filesUnder(h.blobRoot) };
}

let h: RegistryHome;
let registry: ModelRegistry;
let readmission: Buffer;
let mlp: Buffer;
let scalar: Buffer;
let fixtures: FixturePaths;

before(async () => {
  h = await openRegistryHome();
  registry = h.registry;
  readmission = await readFile(h.models.readmission);
  mlp = await readFile(h.models.mlp);
  fixtures = await writeFixtureModels(join(h.home, 'fixtures'));
  scalar = await readFile(fixtures.scalar);
});
after(() => h.cleanup());

describe('pushing versions', { timeout: 30_000 }, () => {
  test('push 1.0.0: digest, size, signature, model created', async () => {
    const v = await registry.pushVersion(
      {
        model: 'readmission',
        version: '1.0.0',
        labels: { team: 'risk' },
        source: { commit: 'abc123' },
        description: 'Readmission risk',
      },
      bytes(readmission),
    );
    assert.equal(v.artifact.digest, await sha256OfFile(h.models.readmission));
    assert.equal(v.artifact.size, readmission.byteLength);
    assert.equal(v.artifact.filename, 'model.onnx');
    assert.deepEqual(v.signature.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 16] }]);
    assert.deepEqual(
      v.signature.outputs.map((o) => o.name),
      ['probability', 'label'],
    );
    assert.deepEqual(v.signature.outputs, [
      { name: 'probability', datatype: 'FP32', shape: [-1, 1] },
      { name: 'label', datatype: 'INT64', shape: [-1, 1] },
    ]);
    assert.deepEqual(v.labels, { team: 'risk' });
    assert.deepEqual(v.source, { commit: 'abc123' });
    assert.ok(!Number.isNaN(Date.parse(v.createdAt)));
    assert.deepEqual(await registry.getVersion('readmission', '1.0.0'), v);
    const model = await registry.getModel('readmission');
    assert.equal(model.description, 'Readmission risk');
    assert.equal(await h.blobs.has(v.artifact.digest), true);
  });

  test('the same version again is ALREADY_EXISTS, refused before reading the body, nothing changed', async () => {
    const before = await snapshot(h);
    const { body, read } = untouchedBody();
    await assert.rejects(registry.pushVersion({ model: 'readmission', version: '1.0.0' }, body), (err: unknown) => {
      assert.ok(err instanceof AlreadyExistsError);
      assert.ok(err instanceof VersionExistsError);
      assert.equal(err.code, 'ALREADY_EXISTS');
      assert.equal(err.message, 'model readmission version 1.0.0 already exists; versions are immutable');
      return true;
    });
    assert.equal(read(), false);
    // Different bytes under the same build-less precedence: refused too.
    await assert.rejects(
      registry.pushVersion({ model: 'readmission', version: '1.0.0+build.7' }, bytes(mlp)),
      (err: unknown) => {
        assert.ok(err instanceof VersionExistsError);
        assert.match(err.message, /same precedence as existing version 1\.0\.0/);
        return true;
      },
    );
    assert.deepEqual(await snapshot(h), before);
  });

  test('push 1.1.0 from a file stream; versions list highest first', async () => {
    const v = await registry.pushVersion(
      { model: 'readmission', version: '1.1.0', filename: 'readmission.onnx' },
      createReadStream(h.models.readmission),
    );
    assert.equal(v.artifact.filename, 'readmission.onnx');
    const versions = await registry.listVersions('readmission');
    assert.deepEqual(
      versions.map((x) => x.version),
      ['1.1.0', '1.0.0'],
    );
    // Same bytes as 1.0.0: one blob.
    assert.equal(versions[0]!.artifact.digest, versions[1]!.artifact.digest);
    assert.equal((await filesUnder(join(h.blobRoot, 'sha256'))).length, 1);
    assert.equal((await registry.latestVersion('readmission')).version, '1.1.0');
  });

  test('pre-releases sort below their release and are not "latest" unless asked', async () => {
    await registry.pushVersion({ model: 'readmission', version: '1.10.0-rc.1' }, bytes(readmission));
    await registry.pushVersion({ model: 'readmission', version: '1.2.0' }, bytes(readmission));
    const versions = await registry.listVersions('readmission');
    assert.deepEqual(
      versions.map((x) => x.version),
      ['1.10.0-rc.1', '1.2.0', '1.1.0', '1.0.0'],
    );
    assert.equal((await registry.latestVersion('readmission')).version, '1.2.0');
    assert.equal((await registry.latestVersion('readmission', { includePrerelease: true })).version, '1.10.0-rc.1');
  });

  test('openArtifact returns the identical bytes', async () => {
    const v = await registry.getVersion('readmission', '1.0.0');
    const back = await readAll(await registry.openArtifact(v.artifact.digest));
    assert.ok(back.equals(readmission));
    assert.equal(
      await registry.artifactPath(v.artifact.digest),
      join(h.blobRoot, 'sha256', v.artifact.digest.slice(7, 9), v.artifact.digest.slice(7)),
    );
  });
});

describe('bad input is refused before anything is written', { timeout: 30_000 }, () => {
  test('versions that are not strict SemVer name the version field', async () => {
    const before = await snapshot(h);
    for (const version of ['1.0', 'v1.0.0', '01.0.0', '1.0.0-', 'latest', '']) {
      const { body, read } = untouchedBody();
      await assert.rejects(registry.pushVersion({ model: 'readmission', version }, body), assertInvalid('version'));
      assert.equal(read(), false);
    }
    assert.deepEqual(await snapshot(h), before);
  });

  test('names that are not DNS labels name the name field and the rule', async () => {
    for (const model of [
      'Readmission',
      'read_mission',
      '-readmission',
      'readmission-',
      'a'.repeat(64),
      '',
      'a/b',
      '../x',
    ]) {
      await assert.rejects(registry.pushVersion({ model, version: '1.0.0' }, untouchedBody().body), (err: unknown) => {
        assertInvalid('name')(err);
        assert.match((err as Error).message, /1-63 lowercase letters, digits or '-'/);
        return true;
      });
    }
    await registry.pushVersion({ model: 'a'.repeat(63), version: '0.0.1' }, bytes(mlp)); // the longest name is fine
  });

  test('other fields are checked too', async () => {
    const base = { model: 'readmission', version: '9.0.0' };
    await assert.rejects(
      registry.pushVersion({ ...base, filename: '../evil.onnx' }, untouchedBody().body),
      assertInvalid('filename'),
    );
    await assert.rejects(
      registry.pushVersion({ ...base, labels: { 'bad key!': 'x' } }, untouchedBody().body),
      assertInvalid('labels'),
    );
    await assert.rejects(
      registry.pushVersion({ ...base, labels: { team: 1 as unknown as string } }, untouchedBody().body),
      assertInvalid('labels.team'),
    );
    await assert.rejects(
      registry.pushVersion({ ...base, source: { branch: 'main' } as never }, untouchedBody().body),
      assertInvalid('source'),
    );
  });
});

describe('failed pushes leave nothing behind', { timeout: 30_000 }, () => {
  test('a file ONNX Runtime cannot load: INVALID_ARGUMENT on artifact, no model, no version, no blob', async () => {
    const before = await snapshot(h);
    for (const junk of [
      Buffer.from('this is not an onnx model'),
      readmission.subarray(0, readmission.byteLength / 2),
    ]) {
      await assert.rejects(registry.pushVersion({ model: 'broken', version: '1.0.0' }, bytes(junk)), (err: unknown) => {
        assertInvalid('artifact')(err);
        assert.match((err as Error).message, /^artifact: ONNX Runtime cannot load it: \S/);
        assert.doesNotMatch((err as Error).message, new RegExp(h.blobRoot), 'no server paths in the message');
        return true;
      });
    }
    await assert.rejects(registry.getModel('broken'), NotFoundError);
    await assert.rejects(registry.getVersion('broken', '1.0.0'), NotFoundError);
    assert.deepEqual(await snapshot(h), before);
  });

  test('an empty artifact: INVALID_ARGUMENT "artifact: is empty", no model, no version, no blob', async () => {
    const before = await snapshot(h);
    await assert.rejects(
      registry.pushVersion({ model: 'empty', version: '1.0.0' }, bytes(new Uint8Array(0))),
      (err: unknown) => {
        assertInvalid('artifact')(err);
        assert.equal((err as Error).message, 'artifact: is empty (0 bytes); push the .onnx model file itself');
        return true;
      },
    );
    await assert.rejects(registry.getModel('empty'), NotFoundError);
    assert.deepEqual(await snapshot(h), before);
  });

  test("ONNX Runtime's reasons reach the caller without its source paths and function signatures", async () => {
    // A valid ModelProto (ir_version 7) without a graph: ORT's error names its model.cc and a C++ signature.
    await assert.rejects(
      registry.pushVersion({ model: 'graphless', version: '1.0.0' }, bytes(new Uint8Array([0x08, 0x07]))),
      (err: unknown) => {
        assertInvalid('artifact')(err);
        assert.equal(
          (err as Error).message,
          'artifact: ONNX Runtime cannot load it: ModelProto does not have a graph.',
        );
        return true;
      },
    );
  });

  test('a body over maxArtifactBytes stops while streaming: PAYLOAD_TOO_LARGE, no blob, no temp file', async () => {
    const small = await openRegistryHome({ maxArtifactBytes: 1024 * 1024 });
    try {
      const endless = endlessBody(64 * 1024);
      const started = performance.now();
      await assert.rejects(
        small.registry.pushVersion({ model: 'huge', version: '1.0.0' }, endless.body),
        (err: unknown) => {
          assert.ok(err instanceof PayloadTooLargeError);
          assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
          assert.equal(err.message, `artifact: larger than the limit of ${1024 * 1024} bytes`);
          return true;
        },
      );
      assert.ok(endless.yielded() <= 17, `read ${endless.yielded()} chunks of 64 KiB for a 1 MiB limit`);
      assert.equal(endless.stopped(), true);
      assert.ok(performance.now() - started < 5000);
      assert.deepEqual(await filesUnder(small.blobRoot), []);
      await assert.rejects(small.registry.getModel('huge'), NotFoundError);
      assert.equal(await small.store.latestSequence(), 0);
    } finally {
      await small.cleanup();
    }
  });
});

describe('concurrency', { timeout: 30_000 }, () => {
  test("concurrent pushes of the same new version: exactly one succeeds, the loser's blob is removed", async () => {
    // Two valid models no other version uses, so whichever loses leaves an unreferenced blob.
    const candidates = [fixtures.fixedBatch, fixtures.multiIo];
    const results = await Promise.allSettled(
      candidates.map((file) => registry.pushVersion({ model: 'race', version: '1.0.0' }, createReadStream(file))),
    );
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.ok(lost[0] instanceof VersionExistsError, String(lost[0]));
    const winner = won[0]!;
    assert.deepEqual(await registry.listVersions('race'), [winner]);
    const digests = await Promise.all(candidates.map((file) => sha256OfFile(file)));
    const loserDigest = digests.find((d) => d !== winner.artifact.digest)!;
    assert.equal(await h.blobs.has(winner.artifact.digest), true);
    assert.equal(await h.blobs.has(loserDigest), false, 'the losing upload is not left as an orphan');
    assert.deepEqual(await filesUnder(join(h.blobRoot, 'tmp')), []);
  });

  test('concurrent pushes of the same version with the same bytes: the winner keeps the shared blob', async () => {
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => registry.pushVersion({ model: 'race', version: '2.0.0' }, bytes(scalar))),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected', 'rejected']);
    const v = await registry.getVersion('race', '2.0.0');
    assert.ok((await readAll(await registry.openArtifact(v.artifact.digest))).equals(scalar));
  });

  test('concurrent first pushes of different versions both land under one model', async () => {
    const [a, b] = await Promise.all([
      registry.pushVersion({ model: 'twins', version: '1.0.0' }, bytes(mlp)),
      registry.pushVersion({ model: 'twins', version: '1.0.1' }, bytes(mlp)),
    ]);
    assert.equal(a.artifact.digest, b.artifact.digest);
    assert.deepEqual(
      (await registry.listVersions('twins')).map((v) => v.version),
      ['1.0.1', '1.0.0'],
    );
  });
});

describe('reading', { timeout: 30_000 }, () => {
  test('unknown models and versions are NOT_FOUND', async () => {
    await assert.rejects(registry.getModel('nope'), NotFoundError);
    await assert.rejects(registry.listVersions('nope'), NotFoundError);
    await assert.rejects(registry.latestVersion('nope'), NotFoundError);
    await assert.rejects(registry.getVersion('readmission', '7.7.7'), NotFoundError);
    await assert.rejects(registry.openArtifact(`sha256:${'0'.repeat(64)}`), NotFoundError);
    await assert.rejects(registry.openArtifact('sha256:../../etc'), assertInvalid('digest'));
  });

  test('listModels pages in name order', async () => {
    const first = await registry.listModels({ limit: 2 });
    assert.equal(first.items.length, 2);
    assert.ok(first.continue);
    const rest = await registry.listModels({ continue: first.continue });
    const names = [...first.items, ...rest.items].map((m) => m.name);
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes('readmission') && names.includes('race') && names.includes('twins'));
  });
});
