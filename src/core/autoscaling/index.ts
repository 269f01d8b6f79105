/**
 * Autoscaling, pure: the scaling spec's rules and defaults (`scaling-spec.ts`), cron schedule
 * windows that change the bounds (`schedule.ts`), the horizontal decision per tick (`decide.ts`),
 * forecasts for predictive scaling (`holt-winters.ts`) and vertical request recommendations
 * (`vertical.ts`). The controller that measures and applies lives outside `core`.
 */
export * from './decide.js';
export * from './holt-winters.js';
export * from './scaling-spec.js';
export * from './schedule.js';
export * from './vertical.js';
