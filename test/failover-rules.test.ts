/**
 * The pure parts of disaster-recovery failover: the `failoverFor` rules, the failover reference the
 * route publisher adds, and the gateway's choice between a route and its stand-in (ejected and
 * already-tried backends count as unusable; a stand-in without a usable backend is no way out).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFailoverFor, failoverPairs } from '../src/core/failover.js';
import { isFailedOver, withFailover } from '../src/controller/reconcilers/route-failover.js';
import type { CompiledRoute, CompiledTable } from '../src/gateway/compiled-table.js';
import { failoverRoute, hasUsableBackend } from '../src/gateway/failover.js';
import type { UpstreamBackend } from '../src/gateway/upstream-pool.js';
import type { Route } from '../src/protocol/route-table.js';

const ENVS = [{ name: 'development' }, { name: 'production' }, { name: 'dr', failoverFor: 'production' }];

test('failoverFor: the target exists, is not itself, and nothing chains', () => {
  const refused = (name: string, target: string, rule: RegExp) =>
    assert.throws(
      () => checkFailoverFor(name, target, ENVS),
      (e: Error & { code?: string }) =>
        e.code === 'INVALID_ARGUMENT' && /^failoverFor: /.test(e.message) && rule.test(e.message),
    );
  refused('development', 'development', /cannot stand in for itself/);
  refused('development', 'nowhere', /"nowhere" does not exist/);
  refused('development', 'dr', /dr itself stands in for production/);
  refused('development', 'production', /dr already stands in for production/);
  refused('production', 'development', /dr stands in for production; failover does not chain/);
  // dr may be set again to what it is, and another pair is fine.
  checkFailoverFor('dr', 'production', ENVS);
  checkFailoverFor('development', 'production', [{ name: 'development' }, { name: 'production' }]);
  assert.deepEqual([...failoverPairs(ENVS)], [['production', 'dr']]);
});

const route = (environment: string, deployment: string, backends: number): Route => ({
  environment,
  deployment,
  targets: [
    {
      revision: 1,
      weight: 100,
      model: { name: deployment, version: '1.0.0' },
      backends: Array.from({ length: backends }, (_, i) => ({
        id: `${environment}-${i}`,
        url: `http://127.0.0.1:${9000 + i}`,
      })),
    },
  ],
});

test('withFailover names the stand-in route only where it exists; isFailedOver when no backend is left', () => {
  const routes = [route('dr', 'risk', 1), route('production', 'risk', 0), route('production', 'solo', 2)];
  const out = withFailover(routes, ENVS);
  assert.deepEqual(out[1]!.failover, { environment: 'dr', deployment: 'risk' });
  assert.equal(out[0]!.failover, undefined, 'dr itself has no stand-in');
  assert.equal(out[2]!.failover, undefined, 'no dr deployment of that name');
  assert.equal(isFailedOver(out[1]!), true);
  assert.equal(isFailedOver(withFailover([route('dr', 'risk', 1), route('production', 'risk', 1)], ENVS)[1]!), false);
  assert.deepEqual(withFailover(routes, [{ name: 'production' }]), routes, 'no pair: unchanged');
  assert.equal(isFailedOver({ ...out[1]!, hold: { queue: 10, timeoutMs: 1000 } }), false, 'scaled to zero, not down');
});

function backend(ejectedUntil = 0): UpstreamBackend {
  return { ejectedUntil } as UpstreamBackend;
}
function compiled(prefix: string, backends: UpstreamBackend[], failoverPrefix?: string): CompiledRoute {
  return { prefix, failoverPrefix, targets: backends.length === 0 ? [] : [{ backends }] } as unknown as CompiledRoute;
}

test('the gateway fails over only when the route has no usable backend and the stand-in has one', () => {
  const now = 1000;
  const standInBackend = backend();
  const dr = compiled('/dr/risk', [standInBackend]);
  const table = (production: CompiledRoute, standIn = dr): CompiledTable => ({
    version: 1,
    routes: new Map([
      ['/production/risk', production],
      ['/dr/risk', standIn],
    ]),
    hosts: new Map(),
  });
  const live = backend();
  const ejected = backend(now + 500);
  const p = compiled('/production/risk', [live, ejected], '/dr/risk');
  assert.equal(failoverRoute(table(p), p, now), undefined, 'a usable backend: stay');
  assert.equal(failoverRoute(table(p), p, now, [live]), dr, 'the usable one already failed this request');
  const allEjected = compiled('/production/risk', [ejected], '/dr/risk');
  assert.equal(failoverRoute(table(allEjected), allEjected, now), dr);
  assert.equal(failoverRoute(table(allEjected), allEjected, now + 600), undefined, 'the ejection ran out: back');
  const empty = compiled('/production/risk', [], '/dr/risk');
  assert.equal(failoverRoute(table(empty), empty, now), dr, 'no backend in the table');
  const downToo = compiled('/dr/risk', [backend(now + 500)]);
  assert.equal(failoverRoute(table(empty, downToo), empty, now), undefined, 'the stand-in is down too');
  const scaledToZero = { ...compiled('/production/risk', [], '/dr/risk'), hold: { queue: 10, timeoutMs: 1000 } };
  assert.equal(failoverRoute(table(scaledToZero), scaledToZero, now), undefined, 'scaled to zero: it holds');
  const noStandIn = compiled('/production/risk', []);
  assert.equal(failoverRoute(table(noStandIn), noStandIn, now), undefined);
  assert.equal(hasUsableBackend(dr, now), true);
});
