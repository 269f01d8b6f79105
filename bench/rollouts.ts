/**
 * `npm run bench:rollouts`: release safety under steady load, on a real control plane (SQLite,
 * local runtime, embedded gateway, real model replicas), printing one table against the targets:
 * (a) 20 consecutive rolling updates at 500 req/s: non-2xx and socket errors (target 0);
 * (b) rollback to a warm revision under load: command → 100% on it (target ≤ 1 s), failures (0);
 * (c) a bad canary at 20%: first bad response → 100% on stable (target ≤ 5 s), failed requests;
 * (d) weighted split accuracy over 10,000 requests (target within ±1 pp);
 * (e) 100% shadow to a revision 50 ms slower: increase of the primary's p99 (target ≤ 10%).
 * Peers for context (not measured here): Argo Rollouts / Flagger analysis intervals of 1 min by
 * default, SageMaker guardrails' baking periods of minutes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { FAULT_LABELS } from '../src/workloads/onnx-model/test-faults.js';
import type { Deployment } from '../src/core/resources.js';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { startControlPlane } from '../src/server/control-plane.js';
import { measureShadowOverhead, measureSplitAccuracy } from './lib/rollout-gateway.js';
import { MetOrMissed } from './lib/met-or-missed.js';
import { runMain } from './lib/run-main.js';
import { formatTable } from './lib/table.js';

const BODY = JSON.stringify({
  inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: new Array(16).fill(0.1) }],
});

interface Sample {
  at: number;
  status: number;
  revision: string;
}

/** Open-loop load at `rate` req/s through the gateway; every answer is kept with its time and revision. */
function steadyLoad(gatewayUrl: string, path: string, rate: number) {
  const pool = new Pool(gatewayUrl, { connections: 64, pipelining: 1 });
  const samples: Sample[] = [];
  let errors = 0;
  let stop = false;
  const tickMs = 10;
  let owed = 0;
  const timer = setInterval(() => {
    owed += (rate * tickMs) / 1000;
    for (; owed >= 1 && !stop; owed--) {
      pool.request({ path, method: 'POST', body: BODY, headers: { 'content-type': 'application/json' } }).then(
        async (res) => {
          await res.body.dump();
          samples.push({
            at: Date.now(),
            status: res.statusCode,
            revision: String(res.headers['x-wharf-revision'] ?? ''),
          });
        },
        () => {
          errors++;
        },
      );
    }
  }, tickMs);
  return {
    samples,
    errors: () => errors,
    async stop(): Promise<void> {
      stop = true;
      clearInterval(timer);
      await new Promise((r) => setTimeout(r, 500));
      await pool.close();
    },
  };
}

async function main(): Promise<number> {
  const home = await mkdtemp(join(tmpdir(), 'wharf-bench-rollouts-'));
  // The bad canary is a test-fault label: honoured only with the switch on.
  const cp = await startControlPlane({
    home,
    host: '127.0.0.1',
    port: 0,
    gatewayPort: 0,
    testFaults: true,
    log: () => {},
  });
  const rows: string[][] = [];
  const verdicts = new MetOrMissed();
  const verdict = (ok: boolean) => verdicts.verdict(ok);
  try {
    const file = await readFile((await writeDemoModels(join(home, 'src-models'))).readmission);
    const push = (version: string, labels: Record<string, string> = {}) =>
      cp.registry.pushVersion(
        { model: 'risk', version, filename: 'risk.onnx', labels },
        (async function* () {
          yield file;
        })(),
      );
    for (const v of ['1.0.0', '1.1.0']) await push(v);
    await push('9.0.0', { [FAULT_LABELS.errorRate]: '1' });
    const get = () => cp.deployments.get('risk', 'staging');
    const until = async (ok: (d: Deployment) => boolean, what: string, ms = 120_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const d = await get();
        if (ok(d)) return d;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${d.status.message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const settledAt = (revision: number) => (d: Deployment) =>
      d.status.observedRevision === revision &&
      d.status.rollout?.phase === 'Healthy' &&
      d.status.rollout.retiring.length === 0 &&
      d.status.readyReplicas === 2;
    const actor = { actor: 'bench' };

    // (a) 20 rolling updates at 500 req/s.
    await cp.deployments.create(
      {
        name: 'risk',
        environment: 'staging',
        model: { name: 'risk', version: '1.0.0' },
        configuration: { replicas: 2 },
        strategy: { type: 'rolling', rolling: { maxSurge: 1, maxUnavailable: 0 } },
      },
      actor,
    );
    await until(settledAt(1), 'revision 1');
    const path = '/staging/risk/v2/models/risk/infer';
    const a = steadyLoad(cp.gatewayUrl, path, 500);
    const aStart = Date.now();
    for (let i = 0; i < 20; i++) {
      const d = await cp.deployments.update(
        'risk',
        'staging',
        { model: { version: i % 2 === 0 ? '1.1.0' : '1.0.0' } },
        actor,
      );
      await until(settledAt(d.revision), `update ${i + 1}`);
    }
    await a.stop();
    const aBad = a.samples.filter((s) => s.status < 200 || s.status >= 300).length;
    rows.push([
      '(a) 20 rolling updates at 500 req/s',
      `${aBad} non-2xx, ${a.errors()} socket errors of ${a.samples.length} in ${((Date.now() - aStart) / 1000).toFixed(0)} s`,
      '0',
      verdict(aBad + a.errors() === 0),
    ]);

    // (b) Rollback to a warm revision: blue-green keeps the previous one up for its delay.
    let d = await cp.deployments.update(
      'risk',
      'staging',
      {
        model: { version: '1.1.0' },
        strategy: { type: 'blue-green', blueGreen: { autoPromote: true, scaleDownDelaySeconds: 120 } },
      },
      actor,
    );
    const before = (await get()).status.rollout?.stable;
    await until(
      (x) =>
        x.status.observedRevision === d.revision &&
        x.status.rollout?.phase === 'Healthy' &&
        x.status.rollout.stable !== before,
      'the blue-green switch',
    );
    const b = steadyLoad(cp.gatewayUrl, path, 200);
    await new Promise((r) => setTimeout(r, 1_000));
    const commandAt = Date.now();
    d = await cp.deployments.rollback('risk', 'staging', { ...actor, toRevision: d.revision - 1 });
    await until(
      (x) => x.status.observedRevision === d.revision && x.status.rollout?.phase === 'Healthy',
      'the rollback',
    );
    await new Promise((r) => setTimeout(r, 1_500));
    await b.stop();
    const target = String((await get()).status.rollout?.stable);
    const lastOther = Math.max(
      ...b.samples.filter((s) => s.at >= commandAt && s.revision !== target).map((s) => s.at),
      commandAt,
    );
    const bSwitch = lastOther - commandAt;
    const bBad = b.samples.filter((s) => s.status !== 200).length + b.errors();
    rows.push([
      '(b) rollback to a warm revision under load',
      `${bSwitch} ms to 100% on revision ${target}; ${bBad} failed`,
      '≤ 1000 ms, 0 failed',
      verdict(bSwitch <= 1_000 && bBad === 0),
    ]);

    // (c) A bad canary at 20%.
    await cp.deployments.update(
      'risk',
      'staging',
      {
        strategy: {
          type: 'canary',
          canary: { steps: [{ setWeight: 20 }, { analysis: { template: 'success-rate' } }, { setWeight: 100 }] },
        },
      },
      actor,
    );
    await until(
      (x) => x.status.rollout?.phase === 'Healthy' && x.status.rollout.retiring.length === 0,
      'settled before the canary',
      180_000,
    );
    const c = steadyLoad(cp.gatewayUrl, path, 200);
    await new Promise((r) => setTimeout(r, 1_000));
    d = await cp.deployments.update('risk', 'staging', { model: { version: '9.0.0' } }, actor);
    await until((x) => x.status.rollout?.phase === 'Aborted', 'the abort');
    await new Promise((r) => setTimeout(r, 1_500));
    await c.stop();
    const bad = c.samples.filter((s) => s.status !== 200);
    const firstBad = Math.min(...bad.map((s) => s.at));
    const lastBad = Math.max(...bad.map((s) => s.at));
    const cTime = bad.length === 0 ? undefined : lastBad - firstBad;
    rows.push([
      '(c) bad canary at 20%: first bad response → 100% on stable',
      cTime === undefined
        ? 'no bad response seen'
        : `${(cTime / 1000).toFixed(2)} s; ${bad.length} of ${c.samples.length} requests failed`,
      '≤ 5 s',
      verdict(cTime !== undefined && cTime <= 5_000),
    ]);
  } finally {
    await cp.stop();
    await rm(home, { recursive: true, force: true });
  }

  // (d) and (e): the gateway on its own (bench/lib/rollout-gateway.ts).
  const split = await measureSplitAccuracy({ requests: 10_000, weights: [80, 20] });
  rows.push([
    '(d) 80/20 split over 10,000 requests',
    `${split.observedPercent.map((p) => p.toFixed(2)).join(' / ')} %, max deviation ${split.maxDeviationPp.toFixed(2)} pp`,
    '≤ 1 pp',
    verdict(split.maxDeviationPp <= 1),
  ]);
  const shadow = await measureShadowOverhead({ seconds: 10, rate: 200, rounds: 3 });
  rows.push([
    '(e) 100% shadow to a revision 50 ms slower: primary p99',
    `${shadow.plainP99Ms.toFixed(2)} → ${shadow.mirroredP99Ms.toFixed(2)} ms (${shadow.increasePercent >= 0 ? '+' : ''}${shadow.increasePercent.toFixed(1)}%)`,
    '≤ +10%',
    verdict(shadow.increasePercent <= 10),
  ]);

  process.stdout.write(`\n${formatTable(['benchmark', 'figure', 'target', 'verdict'], rows)}\n`);
  process.stdout.write(verdicts.summary());
  return 0;
}

runMain('rollouts', main);
