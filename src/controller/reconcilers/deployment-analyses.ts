/**
 * The analysis side of a deployment's reconcile: measure the running analysis runs again, start
 * the runs the plan asks for, and read the shadow comparison while a shadow rollout mirrors to its
 * canary. Without a {@link RolloutAnalysis} (no metrics source) a started run is an `error` run
 * with a clear message instead of one that hangs.
 */
import type { Deployment, DeploymentStatus } from '../../core/resources.js';
import type { AnalysisRunView, RolloutStatus, ShadowSummary } from '../../core/rollout/rollout-types.js';
import type { DeploymentPlan } from './deployment-plan.js';
import type { AnalysisTarget, RolloutAnalysis } from './rollout-analysis.js';

/** The stored rollout status with its running analyses measured again. */
export async function advanceAnalyses(
  analysis: RolloutAnalysis | undefined,
  deployment: Deployment,
  now: Date,
): Promise<RolloutStatus | undefined> {
  const rollout = deployment.status.rollout;
  if (rollout === undefined || analysis === undefined || rollout.canary === undefined) return rollout;
  const target = analysisTarget(deployment, rollout.canary);
  const advance = (run: AnalysisRunView | undefined) =>
    isRunning(run) ? analysis.advance(run!, target, now) : Promise.resolve(run);
  const [step, background] = await Promise.all([advance(rollout.analysis), advance(rollout.backgroundAnalysis)]);
  return {
    ...rollout,
    ...(step === undefined ? {} : { analysis: step }),
    ...(background === undefined ? {} : { backgroundAnalysis: background }),
  };
}

/** Creates the analysis runs the plan asked for and puts them on the status. */
export async function startAnalyses(
  analysis: RolloutAnalysis | undefined,
  deployment: Deployment,
  plan: DeploymentPlan,
  now: Date,
): Promise<DeploymentStatus> {
  const rollout = plan.status.rollout;
  if (rollout === undefined || plan.startAnalysis.length === 0) return plan.status;
  const target = analysisTarget(deployment, rollout.canary ?? rollout.stable ?? deployment.revision);
  const runs: Partial<Record<'analysis' | 'backgroundAnalysis', AnalysisRunView>> = {};
  for (const start of plan.startAnalysis) {
    runs[start.slot] =
      analysis === undefined
        ? { phase: 'error', message: 'no metrics source is configured for analysis' }
        : await analysis.start(start.template, start.args, target, now);
  }
  return { ...plan.status, rollout: { ...rollout, ...runs } };
}

/** The shadow comparison while a shadow rollout mirrors to its canary. */
export async function shadowSummary(
  analysis: RolloutAnalysis | undefined,
  deployment: Deployment,
  type: string,
  rollout: RolloutStatus | undefined,
  now: Date,
): Promise<ShadowSummary | undefined> {
  if (type !== 'shadow' || rollout?.canary === undefined || rollout.phase === 'Aborted' || analysis === undefined)
    return undefined;
  const since = rollout.stepStartedAt === undefined ? now.getTime() : Date.parse(rollout.stepStartedAt);
  return analysis.shadow(analysisTarget(deployment, rollout.canary), since);
}

/** True while an analysis run is measuring (the reconcile then polls at the analysis interval). */
export function isRunning(run: AnalysisRunView | undefined): boolean {
  return run?.phase === 'running';
}

function analysisTarget(deployment: Deployment, revision: number): AnalysisTarget {
  return { environment: deployment.environment, deployment: deployment.name, revision };
}
