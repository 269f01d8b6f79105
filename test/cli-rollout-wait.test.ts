/**
 * `--wait`'s rollout condition (`cli/rollout-wait.ts`) and the SERVING column
 * (`core/serving-summary.ts`, also on the console's first page), row by row over deployments as
 * the API returns them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenAPIHono } from '@hono/zod-openapi';
import { registerHomePage } from '../src/api/home-page.js';
import { rolloutWait } from '../src/cli/rollout-wait.js';
import type { Deployment, DeploymentStatus } from '../src/core/resources.js';
import type { RolloutStatus } from '../src/core/rollout/rollout-types.js';
import { servingSummary } from '../src/core/serving-summary.js';

const rollout = (overrides: Partial<RolloutStatus>): RolloutStatus => ({
  revision: 2,
  stable: 1,
  canary: 2,
  strategy: 'canary',
  phase: 'Progressing',
  stepIndex: 0,
  weight: 0,
  retiring: [],
  handledRequest: 0,
  traffic: { targets: [] },
  message: '',
  ...overrides,
});

function deployment(status: Partial<DeploymentStatus>, revision = 2): Deployment {
  return {
    name: 'risk',
    environment: 'production',
    revision,
    type: 'model',
    model: { name: 'risk', version: '1.1.0' },
    configuration: { replicas: 4 },
    strategy: {
      type: 'canary',
      canary: { steps: [{ setWeight: 20 }, { analysis: { template: 'default' } }, { setWeight: 100 }] },
    },
    status: { phase: 'running', conditions: [], readyReplicas: 4, observedRevision: revision, ...status },
  } as unknown as Deployment;
}

test('--wait: done only once the current revision takes all traffic', () => {
  const rows: { name: string; d: Deployment; want: ReturnType<typeof rolloutWait> }[] = [
    { name: 'no rollout recorded (older record)', d: deployment({}), want: { state: 'done' } },
    {
      name: 'promoted: healthy, nothing rolling out',
      d: deployment({ rollout: rollout({ stable: 2, canary: undefined, phase: 'Healthy' }) }),
      want: { state: 'done' },
    },
    {
      name: 'paused by an inconclusive analysis at 20%',
      d: deployment({
        rollout: rollout({
          phase: 'Paused',
          stepIndex: 1,
          weight: 20,
          message: 'analysis default was inconclusive (no data); promote to go on or abort',
        }),
      }),
      want: {
        state: 'waiting',
        note: 'paused at step 2/3 (20%): waiting for promote (wharf deploy promote risk -e production); analysis default was inconclusive (no data); promote to go on or abort',
      },
    },
    {
      name: 'an analysis running',
      d: deployment({
        phase: 'running',
        rollout: rollout({ stepIndex: 1, weight: 20, message: 'canary step 2/3: at 20%, analysis default running' }),
      }),
      want: {
        state: 'waiting',
        note: 'rolling out at step 2/3 (20%): canary step 2/3: at 20%, analysis default running',
      },
    },
    {
      name: 'all steps done, scaling up',
      d: deployment({ rollout: rollout({ stepIndex: 3, weight: 100, message: 'canary: all steps done' }) }),
      want: { state: 'waiting', note: 'rolling out at step 3/3 (100%): canary: all steps done' },
    },
    {
      name: 'the status is still about the previous revision',
      d: deployment({
        observedRevision: 1,
        rollout: rollout({ revision: 1, stable: 1, canary: undefined, phase: 'Healthy' }),
      }),
      want: { state: 'waiting', note: 'revision 2 not yet picked up by the controller' },
    },
    {
      name: 'aborted',
      d: deployment({
        phase: 'failed',
        message: 'rollout of revision 2 aborted: aborted by bob; revision 1 serves all traffic (4/4 ready)',
        rollout: rollout({ phase: 'Aborted' }),
      }),
      want: {
        state: 'failed',
        message: 'rollout of revision 2 aborted: aborted by bob; revision 1 serves all traffic (4/4 ready)',
      },
    },
    {
      name: 'an abort of the previous revision is no verdict on the new one',
      d: deployment(
        {
          phase: 'failed',
          observedRevision: 2,
          message: 'rollout of revision 2 aborted',
          rollout: rollout({ phase: 'Aborted' }),
        },
        3,
      ),
      want: { state: 'waiting', note: 'revision 3 not yet picked up by the controller' },
    },
    {
      name: 'failed before any rollout (a missing model version)',
      d: deployment({ phase: 'failed', message: 'revision 2: model risk version 1.1.0 does not exist' }),
      want: { state: 'failed', message: 'revision 2: model risk version 1.1.0 does not exist' },
    },
  ];
  for (const row of rows) assert.deepEqual(rolloutWait(row.d), row.want, row.name);
  const blueGreen = {
    ...deployment({ rollout: rollout({ strategy: 'blue-green', phase: 'Paused', message: 'preview ready' }) }),
    strategy: { type: 'blue-green' },
  } as Deployment;
  assert.deepEqual(rolloutWait(blueGreen), {
    state: 'waiting',
    note: 'paused (blue-green): waiting for promote (wharf deploy promote risk -e production); preview ready',
  });
});

test('SERVING: the revisions with a share of traffic and their model versions', () => {
  const status = (serving: DeploymentStatus['serving']): DeploymentStatus => ({
    phase: 'running',
    conditions: [],
    readyReplicas: 1,
    observedRevision: 1,
    ...(serving === undefined ? {} : { serving }),
  });
  assert.equal(servingSummary(status(undefined)), '-', 'not written yet');
  assert.equal(servingSummary(status([])), '-', 'nothing serves');
  assert.equal(
    servingSummary(status([{ revision: 1, weight: 100, model: { name: 'risk', version: '1.0.0' } }])),
    'r1 risk 1.0.0',
  );
  assert.equal(
    servingSummary(
      status([
        { revision: 1, weight: 80, model: { name: 'risk', version: '1.0.0' } },
        { revision: 2, weight: 20, model: { name: 'risk', version: '1.1.0' } },
      ]),
    ),
    'r1 risk 1.0.0 80%, r2 risk 1.1.0 20%',
  );
});

test('the console shows what serves next to the model the spec asks for', async () => {
  const aborted = deployment({
    phase: 'failed',
    serving: [{ revision: 1, weight: 100, model: { name: 'risk', version: '1.0.0' } }],
  });
  const app = new OpenAPIHono();
  registerHomePage(app, () => Promise.resolve([{ ...aborted, endpoints: {} }]));
  const html = await (await app.request('/')).text();
  assert.match(html, /<th>Model<\/th>.*<th>Serving<\/th>/s);
  assert.match(html, /<td>risk 1\.1\.0<\/td>/, "the spec's model");
  assert.match(html, /<td class="serving">r1 risk 1\.0\.0<\/td>/, 'what takes the traffic');
});
