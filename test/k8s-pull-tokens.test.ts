/**
 * The pull tokens of model pods (runtime/kubernetes/pull-tokens.ts): a namespace gets its Secret
 * the first time it is needed, keeps it while the token has long to live, and gets a new token
 * (a new Secret content) once less than the renewal margin is left; concurrent callers share one
 * mint. That pods really download with it is shown by k8s-control-plane.test.ts, where the registry
 * refuses a download without a credential.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeClient } from '../src/runtime/kubernetes/kube-client.js';
import { PULL_TOKEN_RENEW_BEFORE_MS, PullTokens } from '../src/runtime/kubernetes/pull-tokens.js';

const DAY_MS = 24 * 3_600_000;

test('a namespace gets its pull-token Secret once, and a new token before the old one expires', async () => {
  let now = Date.parse('2026-12-02T00:00:00Z');
  const applied: { namespace: string; token: string; expires: string }[] = [];
  const client = {
    apply: async (o: {
      metadata: { namespace: string; annotations: Record<string, string> };
      data: { token: string };
    }) => {
      applied.push({
        namespace: o.metadata.namespace,
        token: Buffer.from(o.data.token, 'base64').toString('utf8'),
        expires: o.metadata.annotations['wharf.dev/expires-at']!,
      });
      return o;
    },
  } as unknown as KubeClient;
  let minted = 0;
  const tokens = new PullTokens(
    client,
    async (namespace) => {
      minted++;
      return { token: `token-${namespace}-${minted}`, expiresAt: new Date(now + DAY_MS) };
    },
    'wharf',
    () => now,
  );
  try {
    await Promise.all([tokens.ensure('ml-staging'), tokens.ensure('ml-staging'), tokens.ensure('ml-prod')]);
    assert.deepEqual(
      applied.map((a) => `${a.namespace} ${a.token}`).sort(),
      ['ml-prod token-ml-prod-2', 'ml-staging token-ml-staging-1'],
      'one mint per namespace, even for concurrent callers',
    );
    now += DAY_MS - PULL_TOKEN_RENEW_BEFORE_MS - 60_000; // still more than the margin left
    await tokens.ensure('ml-staging');
    assert.equal(applied.length, 2, 'a token with long to live is kept');
    now += 120_000; // now less than the margin left
    await tokens.ensure('ml-staging');
    assert.equal(applied.length, 3);
    assert.equal(applied[2]!.token, 'token-ml-staging-3');
    assert.equal(applied[2]!.expires, new Date(now + DAY_MS).toISOString());
  } finally {
    tokens.stop();
  }
});

test('a failed mint is not remembered: the next call tries again', async () => {
  let fail = true;
  const applied: unknown[] = [];
  const client = { apply: async (o: unknown) => applied.push(o) } as unknown as KubeClient;
  const tokens = new PullTokens(
    client,
    async () => {
      if (fail) throw new Error('store unavailable');
      return { token: 't', expiresAt: new Date(Date.now() + DAY_MS) };
    },
    'wharf',
  );
  try {
    await assert.rejects(tokens.ensure('ns'), /store unavailable/);
    fail = false;
    await tokens.ensure('ns');
    assert.equal(applied.length, 1);
  } finally {
    tokens.stop();
  }
});
