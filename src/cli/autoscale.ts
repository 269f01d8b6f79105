/**
 * `wharf deploy autoscale` (set the scaling bounds, metric and target: no new replicas count, the
 * autoscaler sizes the deployment) and the autoscaling lines of `wharf deploy get`: current size
 * and why, what was measured, the forecast with its error, and CPU / memory recommendations.
 */
import type { Command } from 'commander';
import type { AutoscalerViewResponse, AutoscalingResult, DeploymentResponse } from '../api/response-schemas.js';
import { call } from './client.js';
import { usageError } from './exit-codes.js';
import { decimal, integer } from './options.js';
import { reportChange } from './rollout.js';
import { action } from './run-action.js';

/** What `GET …/autoscaling` answers (its response schema's type). */
export type AutoscalingView = AutoscalingResult;
type ScalingMetric = AutoscalingResult['scaling']['metric'];

const METRICS: readonly ScalingMetric[] = ['concurrency', 'rps', 'cpu', 'memory', 'custom'];

/** The autoscaling part of `deploy get`, as lines (none for a fixed-size deployment). */
export function autoscalingLines(view: AutoscalingView): string[] {
  const { scaling: s, state } = view;
  if (!view.autoscaled)
    return state?.recommendation === undefined ? [] : [recommendationLine(state.recommendation).trim()];
  const lines = [
    `autoscaling: ${s.min}–${s.max} replicas on ${s.metric} (target ${s.target} per replica; windows ${s.stableWindow} s stable, ${s.panicWindow} s panic)`,
  ];
  if (state === null) return [...lines, '  no decision yet'];
  const panic = state.panicUntil !== undefined && Date.parse(state.panicUntil) > Date.now() ? ' (panic mode)' : '';
  lines.push(
    `  desired ${state.desiredReplicas}${panic}${state.schedule ? `; schedule ${state.schedule.name} sets ${state.schedule.min}–${state.schedule.max}` : ''}`,
  );
  if (state.lastDecision)
    lines.push(
      `  last decision ${state.lastDecision.time}: ${state.lastDecision.from} → ${state.lastDecision.to}: ${state.lastDecision.message}`,
    );
  const o = state.observed;
  if (o)
    lines.push(
      `  measured ${o.time}: ${o.metric} ${o.stable ?? '-'} (stable) / ${o.panic ?? '-'} (panic), ${o.requestRate} req/s${o.held > 0 ? `, ${o.held} held` : ''}`,
    );
  const f = state.forecast;
  if (f)
    lines.push(
      `  forecast: ${f.requestRate} req/s in ${f.horizonSeconds} s (${f.method}; error ${f.error.mape === undefined ? '' : `MAPE ${(f.error.mape * 100).toFixed(1)}%, `}RMSE ${f.error.rmse} over ${f.error.samples} buckets) → ${f.desiredReplicas} replicas`,
    );
  if (state.recommendation) lines.push(recommendationLine(state.recommendation));
  if (state.problem) lines.push(`  problem: ${state.problem}`);
  return lines;
}

function recommendationLine(r: NonNullable<AutoscalerViewResponse['recommendation']>): string {
  return `  recommended resources: cpu ${r.cpu} (${r.change.cpu}), memory ${r.memory} (${r.change.memory}), memory limit ${r.memoryLimit} — ${r.basis}`;
}

/** Registers `deploy autoscale`. */
export function registerAutoscale(deploy: Command, path: (env: string, name: string, rest?: string) => string): void {
  deploy
    .command('autoscale <name>')
    .description('Autoscale a deployment: bounds, metric and target (a new revision, no restart)')
    .requiredOption('-e, --environment <env>', 'environment')
    .requiredOption('--min <n>', 'fewest replicas (0 = scale to zero when idle)', integer(0, 100))
    .requiredOption('--max <n>', 'most replicas', integer(0, 100))
    .option('--metric <metric>', `what to scale on: ${METRICS.join(', ')}`)
    .option('--target <n>', 'per-replica target of the metric', decimal(0.001, 1e9))
    .option('--idle-timeout <seconds>', 'with --min 0: idle time before scaling to zero', integer(10, 86_400))
    .option('--reason <text>', 'why, for the history')
    .action(
      action(
        async (
          name: string,
          f: {
            environment: string;
            min: number;
            max: number;
            metric?: string;
            target?: number;
            idleTimeout?: number;
            reason?: string;
          },
        ) => {
          if (f.metric !== undefined && !METRICS.includes(f.metric as ScalingMetric))
            throw usageError(`--metric must be one of ${METRICS.join(', ')}, got '${f.metric}'`);
          const current = await call<DeploymentResponse>(path(f.environment, name));
          const scaling = {
            min: f.min,
            max: f.max,
            ...(f.metric === undefined ? {} : { metric: f.metric }),
            ...(f.target === undefined ? {} : { target: f.target }),
            ...(f.idleTimeout === undefined ? {} : { idleTimeout: f.idleTimeout }),
          };
          const patch = {
            resourceVersion: current.resourceVersion,
            configuration: { scaling },
            ...(f.reason ? { reason: f.reason } : {}),
          };
          reportChange(await call<DeploymentResponse>(path(f.environment, name), { method: 'PATCH', json: patch }));
        },
      ),
    );
}
