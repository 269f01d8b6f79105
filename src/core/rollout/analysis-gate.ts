/**
 * The analysis gate the strategies share (blue-green's pre-promotion analysis, canary's step and
 * background analyses): it asks for a run when there is none for the step and turns the run's phase
 * into a verdict, aborting on failure and pausing on doubt unless a promote accepts it. Pure.
 */
import type { AnalysisRef } from '../strategy.js';
import type { Draft } from './draft.js';
import type { AnalysisRunView } from './rollout-types.js';

/**
 * An analysis gate: starts the run when there is none for this step, and reads its verdict.
 * 'fail' has already aborted; 'hold' has already paused.
 */
export function gate(
  d: Draft,
  slot: 'analysis' | 'backgroundAnalysis',
  ref: AnalysisRef,
  stepIndex: number,
): 'pass' | 'fail' | 'wait' | 'hold' {
  const run: AnalysisRunView | undefined = d[slot];
  if (run === undefined || (slot === 'analysis' && d.analysisStep !== stepIndex)) {
    d[slot] = { phase: 'running', message: 'starting' };
    if (slot === 'analysis') d.analysisStep = stepIndex;
    d.startAnalysis.push({ slot, template: ref.template, ...(ref.args === undefined ? {} : { args: ref.args }) });
    return 'wait';
  }
  switch (run.phase) {
    case 'running':
      return 'wait';
    case 'successful':
      if (slot === 'backgroundAnalysis') d[slot] = undefined; // a background guard runs again
      return 'pass';
    case 'failed':
    case 'error':
      d.abort(
        `analysis ${ref.template} ${run.phase === 'error' ? 'could not measure' : 'failed'}: ${run.message ?? 'no message'}`,
        true,
      );
      return 'fail';
    case 'inconclusive': {
      // Runs made by the analysis driver have applied their metrics' onInconclusive already
      // (core/analysis/run.ts), so theirs arrive here without the field, meaning pause.
      const how = run.onInconclusive ?? 'pause';
      if (how === 'pass') return 'pass';
      if (how === 'fail') {
        d.abort(`analysis ${ref.template} was inconclusive: ${run.message ?? 'no message'}`, true);
        return 'fail';
      }
      if (d.promote !== undefined) {
        if (slot === 'backgroundAnalysis') {
          // The promote accepts the guard's doubt but is not used up here: it is for the step it
          // names. The guard starts over, so it keeps watching (and can abort) what follows.
          restartGuard(d, ref);
          return 'pass';
        }
        d.promote = undefined;
        return 'pass';
      }
      d.phase = 'Paused';
      d.message = `analysis ${ref.template} was inconclusive (${run.message ?? 'no message'}); promote to go on or abort`;
      return 'hold';
    }
  }
}

/** A fresh background run in place of a finished one. */
function restartGuard(d: Draft, ref: AnalysisRef): void {
  d.backgroundAnalysis = { phase: 'running', message: 'starting' };
  d.startAnalysis.push({
    slot: 'backgroundAnalysis',
    template: ref.template,
    ...(ref.args === undefined ? {} : { args: ref.args }),
  });
}
