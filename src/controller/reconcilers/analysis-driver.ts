/**
 * The {@link RolloutAnalysis} of a control plane: resolves templates (stored ones first, then the
 * built-in `default`, `success-rate`, `latency-p99`), starts runs, takes their due measurements
 * from the MetricsSource, and reads shadow comparisons. Every failure to resolve or measure
 * becomes data on the run (phase `error` with a message), never an exception in the reconciler.
 */
import {
  type AnalysisRunState,
  type AnalysisTemplate,
  findAnalysisTemplate,
  newAnalysisRun,
  type ResolvedAnalysis,
  resolveAnalysis,
  validateAnalysisTemplate,
} from '../../core/analysis/index.js';
import { unlessNotFound } from '../../core/errors.js';
import type { AnalysisRunView, ShadowSummary } from '../../core/rollout/rollout-types.js';
import type { MetricsSource } from '../../metrics/metrics-source.js';
import type { Store } from '../../store/store.js';
import { advanceAnalysis } from './analysis-step.js';
import type { AnalysisTarget, RolloutAnalysis } from './rollout-analysis.js';

/**
 * A run as stored: the analysis state plus what it was started with, so it can be resolved again.
 * A run applies `onInconclusive: fail|pass` itself, so an `inconclusive` phase always means pause.
 */
type StoredRun = AnalysisRunState & { args?: Record<string, string | number> };

/** See the module comment. */
export class AnalysisDriver implements RolloutAnalysis {
  constructor(
    private readonly store: Store,
    private readonly source: MetricsSource,
  ) {}

  async start(
    template: string,
    args: Record<string, string | number> | undefined,
    target: AnalysisTarget,
    now: Date,
  ): Promise<AnalysisRunView> {
    try {
      const resolved = await this.#resolve(template, args, target);
      const run: StoredRun = { ...newAnalysisRun(resolved, now), ...(args === undefined ? {} : { args }) };
      return run as unknown as AnalysisRunView;
    } catch (error) {
      return { phase: 'error', message: `analysis ${template}: ${(error as Error).message}` };
    }
  }

  async advance(view: AnalysisRunView, target: AnalysisTarget, now: Date): Promise<AnalysisRunView> {
    const run = view as unknown as StoredRun;
    if (run.phase !== 'running' || run.metrics === undefined) return view;
    try {
      const resolved = await this.#resolve(run.template, run.args, target);
      const next: StoredRun = {
        ...(await advanceAnalysis(run, resolved, this.source, now)),
        ...(run.args === undefined ? {} : { args: run.args }),
      };
      return next as unknown as AnalysisRunView;
    } catch (error) {
      return { ...view, phase: 'error', message: `analysis ${run.template}: ${(error as Error).message}` };
    }
  }

  async shadow(target: AnalysisTarget, sinceMs: number): Promise<ShadowSummary | undefined> {
    const windowMs = Math.max(1_000, Date.now() - sinceMs);
    const m = await this.source.shadow({ ...target, windowMs });
    return {
      mirrored: m.mirrored,
      compared: m.compared,
      ...(m.agreementRate === undefined ? {} : { agreementRate: m.agreementRate }),
      ...(m.meanAbsoluteDifference === undefined ? {} : { meanAbsoluteDifference: m.meanAbsoluteDifference }),
      ...(m.latencyDeltaSeconds === undefined ? {} : { latencyDeltaSeconds: m.latencyDeltaSeconds }),
      ...(m.errorRateDelta === undefined ? {} : { errorRateDelta: m.errorRateDelta }),
    };
  }

  async #resolve(
    name: string,
    args: Record<string, string | number> | undefined,
    target: AnalysisTarget,
  ): Promise<ResolvedAnalysis> {
    const stored = await unlessNotFound(this.store.analysisTemplates.get(name));
    const template: AnalysisTemplate =
      stored === undefined ? findAnalysisTemplate(name) : validateAnalysisTemplate(stored.template);
    return resolveAnalysis(
      template,
      Object.entries(args ?? {}).map(([k, value]) => ({ name: k, value })),
      target,
    );
  }
}
