/**
 * Four-eyes approvals over a real control plane: the requester and the decider are authenticated
 * principals compared by id, so alice cannot approve her own change under any name (`Alice`);
 * approving needs approvals:decide in the approval's environment (bob, a deployer, cannot; dave, an
 * approver in staging only, cannot approve in production; carol, an approver there, can). And
 * turning an environment's approval gate off is itself an approval of its own (`set-policy`), which
 * needs environments:admin to ask for and another person to approve.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Approval } from '../src/core/resources.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';

describe('four-eyes approvals', () => {
  let e2e: E2eControlPlane;
  let bob: string;
  let carol: string;
  let dave: string;
  let aliceAsAlice: string;

  before(async () => {
    e2e = await startE2eControlPlane('wharf-four-eyes-', { '1.0.0': {} });
    bob = await e2e.tokenFor('bob', { role: 'deployer', environment: 'production' });
    carol = await e2e.tokenFor('carol', { role: 'approver', environment: 'production' });
    dave = await e2e.tokenFor('dave', { role: 'approver', environment: 'staging' });
    // The same principal as alice (user:alice), presenting the name "Alice".
    ({ token: aliceAsAlice } = await e2e.cp.tokens.mint({
      owner: 'user:alice',
      ownerName: 'Alice',
      name: 'alice, capitalised',
      scopes: ['*'],
      expiresAt: new Date(Date.now() + 3_600_000),
    }));
    const gate = await e2e.api('/api/v1/environments/production', {
      method: 'PATCH',
      json: { policies: { requiresApproval: true } },
    });
    assert.equal(gate.status, 200, 'turning the gate on applies at once');
  });
  after(() => e2e?.stop());

  const errorOf = (body: Record<string, unknown>) => body.error as { code: string; message: string };

  test('alice requests; neither alice nor "Alice" may approve; bob and dave lack approvals:decide there; carol approves', async () => {
    const requested = await e2e.api('/api/v1/deployments', {
      method: 'POST',
      json: {
        name: 'risk',
        environment: 'production',
        model: { name: 'risk', version: '1.0.0' },
        configuration: { replicas: 0 },
      },
    });
    assert.equal(requested.status, 202, JSON.stringify(requested.body));
    const approval = requested.body.approval as Approval;
    assert.deepEqual(approval.requester, { id: 'user:alice', name: 'alice' });
    const approve = (token: string) =>
      e2e.api(`/api/v1/approvals/${approval.id}/approve`, { method: 'POST', json: {}, as: token });

    for (const [who, token] of [
      ['alice', e2e.aliceToken],
      ['Alice', aliceAsAlice],
    ] as const) {
      const r = await approve(token);
      assert.equal(r.status, 403, `${who}: ${JSON.stringify(r.body)}`);
      assert.equal(errorOf(r.body).code, 'PERMISSION_DENIED');
      assert.match(errorOf(r.body).message, /requested this change and cannot approve it/, who);
    }
    const byBob = await approve(bob);
    assert.equal(byBob.status, 403);
    assert.match(errorOf(byBob.body).message, /approvals:decide/);
    const byDave = await approve(dave);
    assert.equal(byDave.status, 403);
    assert.match(errorOf(byDave.body).message, /approvals:decide in environment production/);
    // bob cannot reject it either (any decision needs approvals:decide there).
    const rejectedByBob = await e2e.api(`/api/v1/approvals/${approval.id}/reject`, {
      method: 'POST',
      json: {},
      as: bob,
    });
    assert.equal(rejectedByBob.status, 403);
    assert.equal(
      (await e2e.api(`/api/v1/approvals/${approval.id}`)).body.state,
      'pending',
      'the refusals changed nothing',
    );
    assert.equal(
      (await e2e.api('/api/v1/environments/production/deployments/risk')).status,
      404,
      'nothing deployed yet',
    );

    const byCarol = await approve(carol);
    assert.equal(byCarol.status, 200, JSON.stringify(byCarol.body));
    const decided = byCarol.body as unknown as Approval;
    assert.equal(decided.state, 'approved');
    assert.deepEqual(decided.decider, { id: 'user:carol', name: 'carol' });
    assert.equal((await e2e.api('/api/v1/environments/production/deployments/risk')).status, 200, 'applied as asked');
  });

  test('a requester who may decide can withdraw (reject) their own change, never approve it', async () => {
    const requested = await e2e.api('/api/v1/environments/production/deployments/risk/scale', {
      method: 'POST',
      json: { replicas: 1 },
    });
    assert.equal(requested.status, 202, JSON.stringify(requested.body));
    const id = (requested.body.approval as Approval).id;
    const own = await e2e.api(`/api/v1/approvals/${id}/approve`, { method: 'POST', json: {} });
    assert.equal(own.status, 403, 'alice is an admin, and still cannot approve her own change');
    const withdrawn = await e2e.api(`/api/v1/approvals/${id}/reject`, { method: 'POST', json: {} });
    assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
    assert.equal(withdrawn.body.state, 'rejected');
    assert.equal((await e2e.get('production', 'risk')).configuration.replicas, 0, 'nothing applied');
  });

  test('turning requiresApproval off needs environments:admin and is an approval of its own, applied when another person approves', async () => {
    const off = { method: 'PATCH', json: { policies: { requiresApproval: false } } };
    const byDeployer = await e2e.api('/api/v1/environments/production', { ...off, as: bob });
    assert.equal(byDeployer.status, 403);
    assert.match(errorOf(byDeployer.body).message, /environments:admin in environment production/);

    const asked = await e2e.api('/api/v1/environments/production', { ...off, as: e2e.adminToken });
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    const approval = asked.body.approval as Approval;
    assert.equal(approval.action, 'set-policy');
    assert.equal(approval.requester?.id, 'user:admin');
    const env = async () =>
      (await e2e.api('/api/v1/environments/production')).body as { policies: { requiresApproval: boolean } };
    assert.equal((await env()).policies.requiresApproval, true, 'the gate stays on while the change waits');

    const own = await e2e.api(`/api/v1/approvals/${approval.id}/approve`, {
      method: 'POST',
      json: {},
      as: e2e.adminToken,
    });
    assert.equal(own.status, 403, 'the admin cannot approve switching the gate off alone');
    const approved = await e2e.api(`/api/v1/approvals/${approval.id}/approve`, { method: 'POST', json: {}, as: carol });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal((await env()).policies.requiresApproval, false, 'applied once approved');
  });
});
