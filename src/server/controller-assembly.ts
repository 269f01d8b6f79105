/**
 * How the control plane composes what its elected leader runs: the deployment controller and the
 * autoscaler's controller as one leader task, and the metrics source analyses and the autoscaler
 * read (built-in figures, PromQL from Prometheus when one is configured).
 */
import type { Controller } from '../controller/controller.js';
import type { AutoscalerReconciler } from '../controller/reconcilers/autoscaler-reconciler.js';
import type { BuiltinMetricsSource } from '../metrics/builtin-source.js';
import type { MetricsSource } from '../metrics/metrics-source.js';
import type { PrometheusMetricsSource } from '../metrics/prometheus-source.js';
import type { LeaderTask } from './leader-election.js';

/**
 * The deployment controller and the autoscaler's controller as one leader task; `onActive` learns
 * when the autoscaler runs (activations go to its reconciler).
 */
export function withAutoscaler(
  controller: Controller,
  scaling: { controller: Controller; autoscaler: AutoscalerReconciler },
  onActive: (a: AutoscalerReconciler | undefined) => void,
): LeaderTask {
  return {
    async start() {
      await controller.start();
      await scaling.controller.start();
      onActive(scaling.autoscaler);
    },
    async stop() {
      onActive(undefined);
      await scaling.controller.stop();
      await scaling.autoscaler.idle();
      await controller.stop();
    },
  };
}

/** Built-in revision and shadow figures, PromQL from Prometheus; `sampleNow` passes through. */
export function withPromQL(
  builtin: BuiltinMetricsSource,
  prometheus: PrometheusMetricsSource,
): MetricsSource & { sampleNow(): Promise<void> } {
  return {
    name: 'builtin+prometheus',
    revision: (w) => builtin.revision(w),
    shadow: (w) => builtin.shadow(w),
    deployment: (w) => builtin.deployment(w),
    query: (q) => prometheus.query(q),
    sampleNow: () => builtin.sampleNow(),
  };
}
