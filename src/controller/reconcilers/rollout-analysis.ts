/**
 * What the deployment reconciler needs from the analysis side of rollouts: create a run for a
 * template, advance a run with fresh measurements, and read the shadow comparison. Implemented by
 * `analysis-driver.ts` over a MetricsSource and the stored templates; absent in setups without
 * metrics (then an analysis step fails with a clear message instead of hanging).
 */
import type { AnalysisTarget } from '../../core/analysis/resolve.js';
import type { AnalysisRunView, ShadowSummary } from '../../core/rollout/rollout-types.js';

/** The revision an analysis measures: the target `core/analysis` resolves templates for. */
export type { AnalysisTarget };

/** See the module comment. Runs are plain JSON; the reconciler stores them on the status. */
export interface RolloutAnalysis {
  /** A new run of `template` with `args`; an unknown template or bad args give a run in phase `error`. */
  start(
    template: string,
    args: Record<string, string | number> | undefined,
    target: AnalysisTarget,
    now: Date,
  ): Promise<AnalysisRunView>;
  /** The run with the measurements that are due taken; finished runs come back unchanged. */
  advance(run: AnalysisRunView, target: AnalysisTarget, now: Date): Promise<AnalysisRunView>;
  /** The shadow comparison of a mirrored revision since it started receiving copies. */
  shadow(target: AnalysisTarget, sinceMs: number): Promise<ShadowSummary | undefined>;
}
