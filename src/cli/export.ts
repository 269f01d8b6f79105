/**
 * The commands that run Wharf's output without Wharf's controllers: `wharf export` (GitOps
 * manifests, Helm chart, compose file, Terraform) and `wharf fetch-artifact` (the init container
 * of every model pod, in the cluster and in exported manifests alike).
 */
import type { Command } from 'commander';
import type { DeploymentResponse, ModelVersionResponse } from '../api/response-schemas.js';
import { PULL_TOKEN_SECRET } from '../runtime/manifests/pull-token-secret.js';
import { EXPORT_FORMATS, exportFiles, exportWorkload, parseExportFormat, writeExport } from '../export/export.js';
import { apiBase, call } from './client.js';
import { registerFetchArtifact } from './fetch-artifact.js';
import { action } from './run-action.js';

interface Flags {
  environment: string;
  format: string;
  out: string;
  namespace?: string;
  registryUrl?: string;
  image?: string;
  appBaseImage?: string;
  httpRoute?: string;
}

/** `ns/name` or `name` → a Gateway parent reference. */
function parentRef(value: string): { parentGateway: string; parentNamespace?: string } {
  const [a, b] = value.split('/');
  return b === undefined ? { parentGateway: a! } : { parentGateway: b, parentNamespace: a };
}

/** Registers `export` and `fetch-artifact`. */
export function registerExport(program: Command): void {
  program
    .command('export <name>')
    .description("Write the files that deploy the current revision of a deployment without Wharf's controllers")
    .requiredOption('-e, --environment <env>', 'environment of the deployment')
    .requiredOption('--format <format>', EXPORT_FORMATS.join(' | '))
    .requiredOption('--out <dir>', 'directory to write into (created if missing)')
    .option('--namespace <namespace>', 'Kubernetes namespace of the objects (default wharf-<environment>)')
    .option('--registry-url <url>', 'URL pods download the artifact from (default: $WHARF_URL)')
    .option('--image <image>', "image with the wharf command (default: this version's published image)")
    .option(
      '--app-base-image <image>',
      'image an application or worker with a bundle and no image of its own runs in (default: the --image)',
    )
    .option('--http-route <gateway>', 'also write a Gateway API HTTPRoute attached to this Gateway ([namespace/]name)')
    .action(
      action(async (name: string, f: Flags) => {
        const format = parseExportFormat(f.format);
        const env = encodeURIComponent(f.environment);
        const deployment = await call<DeploymentResponse>(
          `/api/v1/environments/${env}/deployments/${encodeURIComponent(name)}`,
        );
        if (deployment.type === 'model' && !deployment.model)
          throw new Error(`deployment ${name} has no model to export`);
        // A model's version, or an application's or worker's bundle version (an image alone needs none).
        const ref = deployment.model ?? deployment.bundle;
        const collection = deployment.model ? 'models' : 'bundles';
        const version =
          ref === undefined
            ? undefined
            : await call<Pick<ModelVersionResponse, 'version' | 'artifact'>>(
                `/api/v1/${collection}/${encodeURIComponent(ref.name)}/versions/${encodeURIComponent(ref.version)}`,
              );
        const files = exportFiles(format, {
          workload: exportWorkload(deployment, version),
          namespace: f.namespace ?? `wharf-${deployment.environment}`,
          // The pods download the artifact with a token read from this Secret (never written into the files).
          manifests: {
            registryUrl: f.registryUrl ?? apiBase(),
            pullTokenSecret: PULL_TOKEN_SECRET,
            ...(f.image ? { image: f.image } : {}),
            ...(f.appBaseImage ? { appBaseImage: f.appBaseImage } : {}),
          },
          ...(f.httpRoute ? { httpRoute: parentRef(f.httpRoute) } : {}),
        });
        const written = await writeExport(f.out, files);
        process.stdout.write(
          `exported ${name} revision ${deployment.revision} (${format}): ${written.length} file(s) in ${f.out}\n`,
        );
        if (format !== 'compose')
          process.stdout.write(
            `the pods download the ${deployment.model ? 'model' : 'bundle'} with a token from the Secret ${PULL_TOKEN_SECRET} (key token), e.g.:\n  kubectl -n ${f.namespace ?? `wharf-${deployment.environment}`} create secret generic ${PULL_TOKEN_SECRET} --from-literal=token="$(wharf token create --name pull --scope models:read --expires 30d)"\n`,
          );
      }),
    );
  registerFetchArtifact(program);
}
