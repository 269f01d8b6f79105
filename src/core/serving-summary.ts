/**
 * One short line for tables (CLI, console) saying what answers requests, next to the spec's model
 * (what is wanted): after an aborted canary the two differ, and only this line says so.
 */
import type { DeploymentStatus } from './resources.js';

/**
 * E.g. `r1 risk 1.0.0`, `r1 risk 1.0.0 80%, r2 risk 1.1.0 20%`; `-` when nothing serves or the
 * controller has not written `status.serving` yet.
 */
export function servingSummary(status: DeploymentStatus): string {
  const serving = status.serving ?? [];
  if (serving.length === 0) return '-';
  return serving
    .map(
      (s) =>
        `r${s.revision}${s.model === undefined ? '' : ` ${s.model.name} ${s.model.version}`}${serving.length > 1 ? ` ${s.weight}%` : ''}`,
    )
    .join(', ');
}
