/**
 * Disk full under the Wharf home (issue 17, item 4): `wharf up` runs on a 20 MiB tmpfs the test
 * mounts; a model push larger than the room left is refused with 507 naming the cause, nothing of
 * it is left in the registry (no temp file, no blob, no version record), and the platform keeps
 * serving: inferences through the gateway, reads and small writes through the API, and a push
 * that fits. Mounting needs root: elsewhere the test skips with the reason (and fails under
 * `CI=true` when it runs as root but cannot mount).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { figure, startFaultStack, type FaultStack } from './support/faults.js';

let mountPoint: string | undefined;
let skip: string | undefined;
let stack: FaultStack | undefined;

before(
  async () => {
    if (process.getuid?.() !== 0) {
      skip = 'mounting a tmpfs needs root, and this test does not run as root';
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'wharf-disk-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', dir], { stdio: 'pipe' });
      mountPoint = dir;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      const reason = `cannot mount a tmpfs: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err)}`;
      if (process.env.CI === 'true') throw new Error(reason, { cause: err });
      skip = reason;
      return;
    }
    stack = await startFaultStack('home-', { parent: mountPoint });
  },
  { timeout: 120_000 },
);

after(async () => {
  await stack?.stop();
  if (mountPoint !== undefined) {
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  }
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

test(
  'a push that does not fit is a 507 naming the cause, leaves nothing, and the platform keeps serving',
  { timeout: 120_000 },
  async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const s = stack!;
    const blobsBefore = filesUnder(join(s.home, 'blobs')).sort();
    const big = Buffer.alloc(40 * 1024 * 1024, 0x5a);
    const r = await fetch(`${s.api}/api/v1/models/risk/versions?version=9.9.9`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/octet-stream' },
      body: big,
    });
    const body = (await r.json()) as { error?: { code?: string; message?: string } };
    figure('disk full: status of a push that does not fit', r.status, '', '507');
    assert.equal(r.status, 507, JSON.stringify(body));
    assert.equal(body.error?.code, 'INSUFFICIENT_STORAGE');
    assert.match(body.error!.message!, /disk is full/);
    // Nothing half-written: the same blob files as before (no temp file, no partial blob), no version.
    assert.deepEqual(filesUnder(join(s.home, 'blobs')).sort(), blobsBefore);
    assert.equal((await s.call('/api/v1/models/risk/versions/9.9.9')).status, 404);
    // The platform keeps running: inference, reads, a small write, a push that fits.
    assert.equal(await s.infer(), 200);
    assert.equal((await s.call('/api/v1/deployments')).status, 200);
    const created = await s.call('/api/v1/deployments', {
      json: {
        name: 'after',
        environment: 'staging',
        model: { name: 'risk', version: '1.0.0' },
        configuration: { replicas: 0 },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(await s.push('1.0.1'), 201);
  },
);
