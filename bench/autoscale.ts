/**
 * `npm run bench:autoscale`: how fast the autoscaler and the gateway react, on a real control plane
 * (SQLite, local runtime, embedded gateway, real model replicas), each figure against the floor
 * measured in the same run (floor = process spawn + model load + first inference of one replica,
 * `wharf serve-model` started directly):
 * (a) a load step from 50 to 2,000 requests/s (rps metric, 600 per replica): time from the step to
 *     the scale decision (target ≤ 2 s), from the decision until a new replica serves (target ≤
 *     1.5× floor), non-2xx responses during the step (target 0);
 * (b) cold start from zero (min 0): time from the first request to its answer (target ≤ 1.5×
 *     floor) and requests lost of a burst of 50 held requests (target 0);
 * (c) one of two replicas made to fail every request under 500 requests/s: requests that failed
 *     before the gateway ejected it.
 * Anchors for context (not measured here): Knative's 6 s panic window and 2 s tick, Kubernetes
 * HPA's 15 s sync, SageMaker's minute-level metrics; Envoy's default outlier detection ejects after
 * 5 consecutive 5xx.
 *
 * The load generator runs in this process, beside the control plane and the gateway, on the same
 * two cores as the replicas: the figures include that contention.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_LABELS } from '../src/workloads/onnx-model/test-faults.js';
import type { AutoscalerState, Deployment, DeploymentEvent } from '../src/core/resources.js';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { startControlPlane } from '../src/server/control-plane.js';
import { listAll } from '../src/services/store-pages.js';
import { median } from './lib/gateway-open-loop.js';
import { replicaFloorMs } from './lib/replica-floor.js';
import { MetOrMissed } from './lib/met-or-missed.js';
import { runMain } from './lib/run-main.js';
import { stepLoad } from './lib/step-load.js';
import { formatTable } from './lib/table.js';

const BODY = JSON.stringify({
  inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: new Array(16).fill(0.1) }],
});
const WHARF_BIN = fileURLToPath(new URL('../../bin/wharf.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const home = await mkdtemp(join(tmpdir(), 'wharf-bench-autoscale-'));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const cp = await startControlPlane({
    home,
    host: '127.0.0.1',
    port: 0,
    gatewayPort: 0,
    drainMs: 500,
    gatewayDebugHeaders: true,
    // The bad canary is a test-fault label: honoured only with the switch on.
    testFaults: true,
    log: () => {},
  });
  // Rows that compare with the floor are built at the end, once the floor is measured again.
  const rows: (string[] | (() => string[]))[] = [];
  const verdicts = new MetOrMissed();
  const verdict = (ok: boolean) => verdicts.verdict(ok);
  try {
    const modelFile = (await writeDemoModels(join(home, 'src-models'))).readmission;
    const file = await readFile(modelFile);
    const faultDir = join(home, 'faults');
    await mkdir(faultDir, { recursive: true });
    const push = (version: string, labels: Record<string, string> = {}) =>
      cp.registry.pushVersion(
        { model: 'risk', version, filename: 'risk.onnx', labels },
        (async function* () {
          yield file;
        })(),
      );
    await push('1.0.0');
    await push('1.0.1', { [FAULT_LABELS.faultDir]: faultDir });
    const actor = { actor: 'bench' };
    const get = (name: string) => cp.deployments.get(name, 'staging');
    const until = async <T>(what: string, check: () => Promise<T | undefined>, ms = 120_000): Promise<T> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(20);
      }
    };
    const events = async (name: string): Promise<DeploymentEvent[]> =>
      listAll(cp.store.events, { deployment: `staging.${name}` });
    const state = (name: string): Promise<AutoscalerState | undefined> =>
      cp.store.autoscalers.get(`staging.${name}`).catch(() => undefined);
    const ready = (name: string, n: number) =>
      until(`${name}: ${n} ready`, async () => {
        const d: Deployment = await get(name);
        return d.status.readyReplicas >= n ? d : undefined;
      });

    // The floor: direct starts, three now and three after the measurements (the machine's speed
    // drifts over a run); the median of all six.
    const floors: number[] = [];
    const measureFloor = async () => {
      for (let i = 0; i < 3; i++) floors.push(await replicaFloorMs(WHARF_BIN, modelFile, 'risk', BODY));
    };
    await measureFloor();
    let floor = median(floors)!;
    log(`floor, first three starts: ${floors.map((f) => f.toFixed(0)).join(', ')} ms`);

    // (a) Load step 50 → 2,000 req/s.
    await cp.deployments.create(
      {
        name: 'steps',
        environment: 'staging',
        model: { name: 'risk', version: '1.0.0' },
        configuration: { replicas: 1, scaling: { min: 1, max: 4, metric: 'rps', target: 600 } },
      },
      actor,
    );
    await ready('steps', 1);
    const a = stepLoad(cp.gatewayUrl, '/staging/steps/v2/models/steps/infer', BODY, 50);
    await sleep(8_000);
    const stepAt = Date.now();
    const before = new Set(a.samples.map((s) => s.backend));
    a.setRate(2_000);
    await until(
      'the step to reach 4 ready replicas',
      async () => ((await get('steps')).status.readyReplicas >= 4 ? true : undefined),
      60_000,
    ).catch(() => undefined);
    await sleep(3_000);
    await a.stop();
    const scaledUp = (await events('steps')).filter(
      (e) => e.reason === 'ScaledUp' && Date.parse(e.time) >= stepAt - 100,
    );
    const decisionAt = scaledUp.length === 0 ? undefined : Date.parse(scaledUp[0]!.time);
    const firstNew = a.samples
      .filter((s) => s.status === 200 && s.backend !== '' && !before.has(s.backend))
      .sort((x, y) => x.at - y.at)[0];
    const during = a.samples.filter((s) => s.sentAt >= stepAt);
    const aBad = during.filter((s) => s.status < 200 || s.status >= 300).length;
    const decisionMs = decisionAt === undefined ? undefined : decisionAt - stepAt;
    const serveMs = decisionAt === undefined || firstNew === undefined ? undefined : firstNew.at - decisionAt;
    rows.push([
      '(a) step 50 → 2,000 req/s: step → scale decision',
      decisionMs === undefined ? 'no decision' : `${(decisionMs / 1000).toFixed(2)} s (${scaledUp[0]!.message})`,
      '≤ 2 s',
      verdict(decisionMs !== undefined && decisionMs <= 2_000),
    ]);
    rows.push(() => [
      '(a) decision → a new replica serves',
      serveMs === undefined
        ? 'no new replica served'
        : `${serveMs.toFixed(0)} ms = ${(serveMs / floor).toFixed(2)}× floor`,
      '≤ 1.5× floor',
      verdict(serveMs !== undefined && serveMs <= 1.5 * floor),
    ]);
    const aFinal = (await state('steps'))?.desiredReplicas;
    const stepSeconds = (Math.max(...during.map((s) => s.sentAt)) - stepAt) / 1000;
    rows.push([
      '(a) non-2xx during the step',
      `${aBad} of ${during.length} (${a.samples.filter((s) => s.status === 0).length} socket errors; ${(during.length / stepSeconds).toFixed(0)} req/s answered over ${stepSeconds.toFixed(1)} s); ${aFinal} replicas at the end`,
      '0',
      verdict(aBad === 0),
    ]);
    await cp.deployments.delete('steps', 'staging', actor);

    // (b) Cold start from zero, three times.
    await cp.deployments.create(
      {
        name: 'cold',
        environment: 'staging',
        model: { name: 'risk', version: '1.0.0' },
        configuration: { replicas: 1, scaling: { min: 0, max: 2, idleTimeout: 10, hold: { queue: 100, timeout: 30 } } },
      },
      actor,
    );
    const firsts: number[] = [];
    let lost = 0;
    let sent = 0;
    for (let round = 0; round < 3; round++) {
      await until(
        'cold: scaled to zero',
        async () =>
          (await state('cold'))?.desiredReplicas === 0 &&
          (await cp.store.deployments.get('staging.cold')).status.readyReplicas === 0
            ? true
            : undefined,
        60_000,
      );
      await sleep(500);
      const start = performance.now();
      const burst = Array.from({ length: 50 }, () =>
        fetch(`${cp.gatewayUrl}/staging/cold/v2/models/cold/infer`, {
          method: 'POST',
          body: BODY,
          headers: { 'content-type': 'application/json' },
        }).then(
          async (r) => ({ status: r.status, ms: performance.now() - start, text: await r.text() }),
          () => ({ status: 0, ms: performance.now() - start, text: '' }),
        ),
      );
      const answers = await Promise.all(burst);
      sent += answers.length;
      lost += answers.filter((x) => x.status !== 200).length;
      firsts.push(Math.min(...answers.filter((x) => x.status === 200).map((x) => x.ms), Number.POSITIVE_INFINITY));
      log(
        `cold start round ${round + 1}: first answer ${firsts.at(-1)!.toFixed(0)} ms, ${answers.filter((x) => x.status !== 200).length} lost`,
      );
    }
    const cold = median(firsts) ?? Number.POSITIVE_INFINITY; // every burst lost: no first answer
    rows.push(() => [
      '(b) cold start from zero: first request → its answer (median of 3)',
      `${cold.toFixed(0)} ms = ${(cold / floor).toFixed(2)}× floor (${firsts.map((f) => f.toFixed(0)).join(', ')} ms)`,
      '≤ 1.5× floor',
      verdict(cold <= 1.5 * floor),
    ]);
    rows.push(['(b) requests lost of bursts of 50 held requests', `${lost} of ${sent}`, '0', verdict(lost === 0)]);
    await cp.deployments.delete('cold', 'staging', actor);

    // (c) One of two replicas fails every request under 500 req/s.
    await cp.deployments.create(
      {
        name: 'flaky',
        environment: 'staging',
        model: { name: 'risk', version: '1.0.1' },
        configuration: { replicas: 2 },
      },
      actor,
    );
    await ready('flaky', 2);
    const c = stepLoad(cp.gatewayUrl, '/staging/flaky/v2/models/flaky/infer', BODY, 500);
    await sleep(3_000);
    const victim = c.samples.find((s) => s.backend !== '')!.backend;
    const replicaId = victim.slice(victim.indexOf('#') + 1);
    const failAt = Date.now();
    await writeFile(join(faultDir, replicaId), 'fail\n');
    await sleep(4_000); // shorter than the first ejection period (5 s): only the failures before the ejection
    await c.stop();
    const ejected = (await events('flaky')).find((e) => e.reason === 'ReplicaEjected');
    const failed = c.samples.filter((s) => s.sentAt >= failAt - 100 && s.status >= 500).length;
    const total = c.samples.filter((s) => s.sentAt >= failAt).length;
    await measureFloor();
    floor = median(floors)!;
    log(
      `floor (spawn + model load + first inference): ${floors.map((f) => f.toFixed(0)).join(', ')} ms → median ${floor.toFixed(0)} ms`,
    );
    rows.unshift([
      'floor: spawn + model load + first inference (median of 6)',
      `${floor.toFixed(0)} ms (${Math.min(...floors).toFixed(0)}–${Math.max(...floors).toFixed(0)} ms)`,
      '—',
      '—',
    ]);
    rows.push([
      '(c) one of two replicas fails every request at 500 req/s: failed before ejection',
      `${failed} of ${total} requests in 4 s${ejected === undefined ? '; no ejection event' : `; ejected ${Date.parse(ejected.time) - failAt} ms after the fault (${ejected.message})`}`,
      'few (Envoy default: 5)',
      '—',
    ]);
  } finally {
    await cp.stop();
    await rm(home, { recursive: true, force: true });
  }
  const table = rows.map((r) => (typeof r === 'function' ? r() : r));
  process.stdout.write(`\n${formatTable(['benchmark', 'figure', 'target', 'verdict'], table)}\n`);
  process.stdout.write(verdicts.summary());
  return 0;
}

runMain('autoscale', main);
