/**
 * The commands that run Wharf's output without Wharf's controllers: `wharf export` (GitOps
 * manifests, Helm chart, compose file, Terraform) and `wharf fetch-artifact` (the init container
 * of every model pod, in the cluster and in exported manifests alike).
 */
import type { Command } from 'commander';
import { registerFetchArtifact } from './fetch-artifact.js';

/** Registers `export` and `fetch-artifact`. */
export function registerExport(program: Command): void {
  registerFetchArtifact(program);
}
