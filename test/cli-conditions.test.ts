/**
 * What `deploy get` and `--wait` say holds a deployment back: a failing dependency, and a reconcile
 * error that keeps repeating (issue 12 item 1: the tour's stuck autoscale step said nothing in the
 * CLI); and `apply --timeout` refuses a value that is not a number of seconds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { holdingConditionLines } from '../src/cli/conditions.js';
import { EXIT_CODES } from '../src/cli/exit-codes.js';
import type { Condition, Deployment } from '../src/core/resources.js';
import { WHARF_BIN } from './support/processes.js';

const withConditions = (conditions: Condition[]) =>
  ({ status: { conditions } }) as unknown as Pick<Deployment, 'status'>;
const at = '2026-12-02T00:00:00.000Z';

test('a repeated reconcile error and a failing dependency are lines of their own; healthy conditions are not', () => {
  const lines = holdingConditionLines(
    withConditions([
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: '', lastTransitionTime: at },
      {
        type: 'Reconciled',
        status: 'False',
        reason: 'ReconcileError',
        message: 'workload staging/risk@3: refused',
        lastTransitionTime: at,
      },
      {
        type: 'DependenciesReady',
        status: 'False',
        reason: 'DependencyFailed',
        message: 'feature-store: connection refused',
        lastTransitionTime: at,
      },
    ]),
  );
  assert.deepEqual(lines, [
    'Reconciled False (ReconcileError): workload staging/risk@3: refused',
    'DependenciesReady False (DependencyFailed): feature-store: connection refused',
  ]);
  assert.deepEqual(
    holdingConditionLines(
      withConditions([
        { type: 'Reconciled', status: 'True', reason: 'Reconciled', message: '', lastTransitionTime: at },
      ]),
    ),
    [],
  );
});

test('apply --timeout that is not a whole number of seconds is a usage error', () => {
  const result = spawnSync(
    process.execPath,
    [WHARF_BIN, 'deploy', 'apply', '-f', 'risk.yaml', '--wait', '--timeout', 'soon'],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, EXIT_CODES.usage.code, result.stderr);
  assert.match(result.stderr, /--timeout.*must be an integer from 1 to 86400/);
});
