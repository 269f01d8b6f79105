/**
 * The exports that are the rendered objects as they are: plain manifests (one file per object
 * plus a kustomization), and Terraform (the same objects as `kubernetes_manifest` resources of the
 * kubernetes provider, in Terraform's JSON syntax, with the image and the replica count as
 * variables). Pure: each returns file path → content.
 */
import { stringify } from 'yaml';
import { renderHttpRoute } from '../runtime/manifests/http-route.js';
import { type KubeObject, renderWorkload } from '../runtime/manifests/render.js';
import { EXPORT_OWNER, type ExportInput } from './export-source.js';

/** File name of an object, e.g. `deployment-risk-r3.yaml`. */
export function objectFileName(o: KubeObject): string {
  return `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
}

/** The objects of an export, in apply order (shared first, the Deployment last). */
export function exportObjects(input: ExportInput): KubeObject[] {
  const { shared, revision } = renderWorkload(
    input.workload,
    { ...input.manifests, owner: EXPORT_OWNER },
    input.namespace,
  );
  const objects = [...shared, ...revision];
  // The spec hash is the runtime's "already applied" marker; exported objects are someone else's.
  for (const o of objects) delete o.metadata.annotations;
  if (input.httpRoute) {
    const { key } = input.workload;
    const route = {
      environment: key.environment,
      deployment: key.deployment,
      targets: [{ revision: key.revision, weight: 100 }],
    };
    objects.push(
      renderHttpRoute(route, { ...input.httpRoute, namespace: input.namespace, owner: EXPORT_OWNER }) as KubeObject,
    );
  }
  return objects;
}

/** Plain manifests: `kubectl apply -k DIR` (or `-f DIR`). */
export function manifestsExport(input: ExportInput): Map<string, string> {
  const objects = exportObjects(input);
  const files = new Map(objects.map((o) => [objectFileName(o), stringify(o)]));
  files.set(
    'kustomization.yaml',
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: objects.map(objectFileName),
    }),
  );
  return files;
}

/** Terraform: `terraform init && terraform apply` in DIR. */
export function terraformExport(input: ExportInput): Map<string, string> {
  const objects = exportObjects(input);
  const resources: Record<string, { manifest: unknown }> = {};
  for (const o of objects) {
    const manifest = structuredClone(o) as KubeObject & {
      spec?: {
        replicas?: unknown;
        template?: { spec?: { containers?: { image?: unknown }[]; initContainers?: { image?: unknown }[] } };
      };
    };
    if (o.kind === 'Deployment') {
      // A template that is one interpolation keeps the variable's type (a number stays a number).
      if (manifest.spec?.replicas !== undefined) manifest.spec.replicas = '${var.replicas}';
      const pod = manifest.spec?.template?.spec;
      // The model server and its fetch-artifact init container run the same Wharf image.
      for (const c of [
        ...(pod?.containers?.slice(0, 1) ?? []),
        ...(input.workload.model ? (pod?.initContainers ?? []) : []),
      ])
        c.image = '${var.image}';
    }
    resources[`${o.kind.toLowerCase()}_${o.metadata.name.replace(/[^a-zA-Z0-9_]/g, '_')}`] = { manifest };
  }
  const deployment = objects.find((o) => o.kind === 'Deployment') as {
    spec: { template: { spec: { containers: { image: string }[] } } };
  } & KubeObject;
  const main = {
    terraform: { required_providers: { kubernetes: { source: 'hashicorp/kubernetes', version: '>= 2.23.0' } } },
    variable: {
      kubeconfig: { type: 'string', default: '~/.kube/config', description: 'kubeconfig file of the target cluster' },
      image: {
        type: 'string',
        default: deployment.spec.template.spec.containers[0]!.image,
        description: 'image of the model server',
      },
      replicas: { type: 'number', default: input.workload.replicas, description: 'replicas of the revision' },
    },
    provider: { kubernetes: { config_path: '${pathexpand(var.kubeconfig)}' } },
    resource: { kubernetes_manifest: resources },
  };
  return new Map([['main.tf.json', `${JSON.stringify(main, null, 2)}\n`]]);
}
