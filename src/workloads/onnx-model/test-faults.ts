/**
 * TEST ONLY: model-version labels that make every replica of a revision misbehave on purpose, for
 * rollout tests and benchmarks (a bad canary): `--inject-error-rate`, `--inject-latency-ms` and
 * `--inject-fault-file` of `wharf serve-model`. They act only in a control plane started with
 * `wharf up --enable-test-faults` (`testFaults` in its options); everywhere else they are inert
 * labels, so whoever can label a model version cannot inject faults into production.
 */
import type { ModelVersion } from '../../core/resources.js';

/** What every fault label's key starts with; the registry refuses them unless test faults are on. */
export const TEST_FAULT_LABEL_PREFIX = 'wharf.dev/test-fault-';

/** The labels; never set them on a real model. */
export const FAULT_LABELS = {
  errorRate: 'wharf.dev/test-fault-error-rate',
  latencyMs: 'wharf.dev/test-fault-latency-ms',
  /** A directory: a replica fails every inference while `<dir>/<replica id>` exists. */
  faultDir: 'wharf.dev/test-fault-dir',
} as const;

/** The model server arguments the fault labels ask for; none unless `enabled`. */
export function faultArgs(
  labels: ModelVersion['labels'] | undefined,
  enabled: boolean,
): { serverArgs?: readonly string[] } {
  if (!enabled) return {};
  const args: string[] = [];
  const errorRate = labels?.[FAULT_LABELS.errorRate];
  const latency = labels?.[FAULT_LABELS.latencyMs];
  if (errorRate !== undefined) args.push('--inject-error-rate', errorRate);
  if (latency !== undefined) args.push('--inject-latency-ms', latency);
  const dir = labels?.[FAULT_LABELS.faultDir];
  if (dir !== undefined) args.push('--inject-fault-file', `${dir}/{replica}`);
  return args.length === 0 ? {} : { serverArgs: args };
}
