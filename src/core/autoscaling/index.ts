/**
 * Autoscaling, pure: the scaling spec's rules and defaults (`scaling-spec.ts`), cron schedule
 * windows that change the bounds (`schedule.ts`), the horizontal decision per tick (`decide.ts`),
 * forecasts for predictive scaling (`holt-winters.ts`), vertical request recommendations
 * (`vertical.ts`) and which replicas' CPU counts (`cpu-readiness.ts`). The controller that measures and applies lives outside `core`.
 */
export * from './cpu-readiness.js';
export * from './decide.js';
export * from './holt-winters.js';
export * from './scaling-spec.js';
export * from './schedule.js';
export * from './vertical.js';
