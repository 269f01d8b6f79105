// DigestLeases: a failed push deletes its blob only when nothing else could be using it, including
// a push that came and went while the failed one was checking references.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DigestLeases } from '../src/registry/digest-leases.js';

const D = 'sha256:' + 'a'.repeat(64);

function recorder(): { remove: () => Promise<void>; calls: () => number } {
  let calls = 0;
  return { remove: () => Promise.resolve(void calls++), calls: () => calls };
}

void test('the only holder of an unreferenced digest deletes it', async () => {
  const leases = new DigestLeases();
  const r = recorder();
  assert.equal(await leases.releaseAndDelete(leases.acquire(D), () => Promise.resolve(false), r.remove), true);
  assert.equal(r.calls(), 1);
});

void test('a referenced digest, or one someone else holds, is kept', async () => {
  const leases = new DigestLeases();
  const r = recorder();
  assert.equal(await leases.releaseAndDelete(leases.acquire(D), () => Promise.resolve(true), r.remove), false);
  const other = leases.acquire(D);
  assert.equal(await leases.releaseAndDelete(leases.acquire(D), () => Promise.resolve(false), r.remove), false);
  other.release();
  assert.equal(r.calls(), 0);
});

void test('a lease taken and released during the reference check cancels the delete', async () => {
  const leases = new DigestLeases();
  const r = recorder();
  const mine = leases.acquire(D);
  const verdict = await leases.releaseAndDelete(
    mine,
    () => {
      // Another push records a version with these bytes while we read the versions list.
      leases.acquire(D).release();
      return Promise.resolve(false);
    },
    r.remove,
  );
  assert.equal(verdict, false);
  assert.equal(r.calls(), 0);
});

void test('settled waits for a deletion in progress; release is idempotent', async () => {
  const leases = new DigestLeases();
  let finish!: () => void;
  let done = false;
  const deleting = leases.releaseAndDelete(
    leases.acquire(D),
    () => Promise.resolve(false),
    () =>
      new Promise<void>((resolve) => {
        finish = () => {
          done = true;
          resolve();
        };
      }),
  );
  await new Promise((resolve) => setImmediate(resolve));
  const waiter = leases.settled(D).then(() => done);
  finish();
  assert.equal(await waiter, true);
  assert.equal(await deleting, true);
  const lease = leases.acquire(D);
  lease.release();
  lease.release();
  const r = recorder();
  assert.equal(
    await leases.releaseAndDelete(leases.acquire(D), () => Promise.resolve(false), r.remove),
    true,
    'a double release does not leave a phantom holder',
  );
});
