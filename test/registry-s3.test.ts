// The control plane with its registry in S3-compatible storage (`wharf up --blob-store s3://…`),
// against s3rver started here: pushes land in the bucket (not under the home), the local runtime's
// replicas run the artifact from a local cache, a restart with the cache gone fetches it again,
// and a bucket that is not there stops the start with its name.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startControlPlane } from '../src/server/control-plane.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { startE2eControlPlane } from './support/control-plane-e2e.js';
import { createTestDatabase } from './support/postgres.js';
import { type S3Server, startS3Server } from './support/s3-server.js';

let s3: S3Server;
before(async () => {
  s3 = await startS3Server(['wharf-registry']);
  // The control plane reads endpoint and credentials the usual AWS ways, as `wharf up` would.
  Object.assign(process.env, s3.env);
});
after(() => s3?.close());

async function objectKeys(prefix: string): Promise<string[]> {
  const client = new S3Client(s3.client);
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: 'wharf-registry', Prefix: prefix }));
    return (page.Contents ?? []).map((o) => o.Key ?? '');
  } finally {
    client.destroy();
  }
}

void test('models pushed to an S3 registry deploy and serve; a restart refetches a lost cache', async () => {
  const blobStore = 's3://wharf-registry/team-a';
  const e2e = await startE2eControlPlane('wharf-s3-', { '1.0.0': {} }, { blobStore });
  let home = e2e.home;
  let running = true;
  try {
    const version = (await e2e.api('/api/v1/models/risk/versions/1.0.0')).body as { artifact: { digest: string } };
    const hex = version.artifact.digest.slice('sha256:'.length);
    assert.deepEqual(await objectKeys('team-a/'), [`team-a/sha256/${hex}`], 'the artifact is an object in the bucket');
    assert.equal(existsSync(join(e2e.home, 'blobs')), false, 'nothing under the home');

    const created = await e2e.api('/api/v1/deployments', {
      method: 'POST',
      json: { name: 'risk', environment: 'development', model: { name: 'risk', version: '1.0.0' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await e2e.settled('development', 'risk', (d) => d.status.phase === 'running', 'risk running');
    const answer = await e2e.infer('development', 'risk');
    assert.equal(answer.status, 200, await answer.clone().text());
    const cached = await readdir(join(e2e.home, 'blob-cache', 'sha256', hex.slice(0, 2)));
    assert.deepEqual(cached, [hex], 'the replica ran a local copy');

    // Blobs need no volume of their own: the same store with the cache gone comes back the same.
    await e2e.cp.stop();
    running = false;
    await rm(join(e2e.home, 'blob-cache'), { recursive: true, force: true });
    home = e2e.home;
    const again = await startControlPlane({
      home,
      host: '127.0.0.1',
      port: 0,
      gatewayPort: 0,
      blobStore,
      log: () => {},
    });
    try {
      const headers = { authorization: `Bearer ${e2e.adminToken}`, 'content-type': 'application/json' };
      const deadline = Date.now() + 60_000;
      let status = 0;
      while (Date.now() < deadline) {
        const r = await fetch(`${again.gatewayUrl}/development/risk/v2/models/risk/infer`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: new Array(16).fill(0.1) }],
          }),
        });
        status = r.status;
        await r.arrayBuffer();
        if (status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(status, 200, 'served again after the restart');
      assert.ok(existsSync(join(home, 'blob-cache', 'sha256', hex.slice(0, 2), hex)), 'fetched into the cache again');
    } finally {
      await again.stop();
    }
  } finally {
    if (running) await e2e.cp.stop();
    await rm(home, { recursive: true, force: true });
  }
});

void test('two control planes on one PostgreSQL database share the registry through the bucket, with no shared volume', async (t) => {
  const db = await createTestDatabase();
  if ('skip' in db) return t.skip(db.skip);
  const root = await mkdtemp(join(tmpdir(), 'wharf-s3-pg-'));
  const common = {
    host: '127.0.0.1',
    port: 0,
    gatewayPort: 0,
    databaseUrl: db.url,
    blobStore: 's3://wharf-registry/shared',
    auditKeyFile: join(root, 'audit-signing.key'),
    log: () => {},
  };
  const a = await startControlPlane({ ...common, home: join(root, 'a') });
  try {
    const b = await startControlPlane({ ...common, home: join(root, 'b') });
    try {
      const file = await readFile((await writeDemoModels(join(root, 'models'))).mlp);
      const pushed = await a.registry.pushVersion(
        { model: 'mlp', version: '1.0.0', filename: 'mlp.onnx' },
        (async function* () {
          yield file;
        })(),
      );
      // Pushed through a, downloaded through b: the bytes came from the bucket, not from a's home.
      const answer = await fetch(`${b.apiUrl}/api/v1/blobs/${pushed.artifact.digest}`, {
        headers: { authorization: `Bearer ${a.adminToken}` },
      });
      assert.equal(answer.status, 200);
      const bytes = Buffer.from(await answer.arrayBuffer());
      assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, pushed.artifact.digest);
      assert.equal(existsSync(join(root, 'a', 'blobs')) || existsSync(join(root, 'b', 'blobs')), false);
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
    await db.drop();
    await rm(root, { recursive: true, force: true });
  }
});

void test('a bucket that is not there stops the start, naming it', async () => {
  const home = await mkdtemp(join(tmpdir(), 'wharf-s3-missing-'));
  try {
    await assert.rejects(
      startControlPlane({
        home,
        host: '127.0.0.1',
        port: 0,
        gatewayPort: 0,
        blobStore: 's3://no-such-bucket/x',
        log: () => {},
      }),
      /blob store s3:\/\/no-such-bucket\/x\/: cannot list the bucket \(NoSuchBucket/,
    );
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

void test('a malformed --blob-store URL is refused naming the rule', async () => {
  const home = await mkdtemp(join(tmpdir(), 'wharf-s3-bad-'));
  try {
    await assert.rejects(
      startControlPlane({ home, host: '127.0.0.1', port: 0, gatewayPort: 0, blobStore: 'http://x', log: () => {} }),
      /blobStore: must be an S3 URL such as 's3:\/\/bucket\/prefix'/,
    );
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
