/**
 * The Helm export: a chart whose templates are the rendered objects with the settings people
 * change per cluster lifted into `values.yaml` — image, replicas, resources, autoscaling, and where
 * the artifact (a model, or an application's bundle) is downloaded from — and the namespace from
 * the release. An application's `image` is its own (or the base image of its bundle), and the
 * bundle's init container runs `wharfImage`; a worker has no Service and no HPA. Pure.
 *
 * The templates use only `{{ .Values.x }}`, `{{ .Values.x | quote }}`, `{{ .Release.Namespace }}`
 * and `{{- if [not] .Values.x }}` … `{{- end }}`, so they render the same under any Helm 3.
 * Values absent from the revision (a GPU count of 0) are not templated: re-export to add them.
 */
import { stringify } from 'yaml';
import type { KubeObject } from '../runtime/manifests/render.js';
import { WHARF_VERSION } from '../core/version.js';
import type { ExportInput } from './export-source.js';
import { exportObjects, objectFileName } from './plain-exports.js';

const PLACEHOLDER = /WHARFVALUE_([A-Za-z]+)_END/g;
/** Placeholder name → template expression. */
const EXPRESSIONS: Record<string, string> = {
  image: '{{ .Values.image | quote }}',
  wharfImage: '{{ .Values.wharfImage | quote }}',
  replicas: '{{ .Values.replicas }}',
  cpu: '{{ .Values.resources.cpu | quote }}',
  memory: '{{ .Values.resources.memory | quote }}',
  gpu: '{{ .Values.resources.gpu | quote }}',
  minReplicas: '{{ .Values.autoscaling.minReplicas }}',
  maxReplicas: '{{ .Values.autoscaling.maxReplicas }}',
  targetCPU: '{{ .Values.autoscaling.targetCPU }}',
  targetMemory: '{{ .Values.autoscaling.targetMemory }}',
  registryUrl: '{{ .Values.artifact.registryUrl }}',
  digest: '{{ .Values.artifact.digest }}',
  namespace: '{{ .Release.Namespace }}',
};
const p = (name: keyof typeof EXPRESSIONS & string): string => `WHARFVALUE_${name}_END`;

/** Chart files: Chart.yaml, values.yaml, templates/*.yaml. */
export function helmExport(input: ExportInput): Map<string, string> {
  const w = input.workload;
  const scaling = w.scaling ?? { min: w.replicas, max: Math.max(w.replicas, 1) * 2, targetCPU: 80, targetMemory: 80 };
  // Rendered as autoscaled, so the HPA exists to template; the Deployment's replicas are put back below.
  const objects = exportObjects({
    ...input,
    workload: { ...w, scaling: { ...scaling, max: Math.max(scaling.max, scaling.min + 1) } },
  });
  const files = new Map<string, string>();
  for (const o of objects) {
    const templated = placeholders(o, input);
    let text = stringify(templated).replace(
      /^(\s*)replicas: WHARFVALUE_replicas_END$/m,
      (_m, indent: string) =>
        `${indent}{{- if not .Values.autoscaling.enabled }}\n${indent}replicas: WHARFVALUE_replicas_END\n${indent}{{- end }}`,
    );
    text = text.replace(PLACEHOLDER, (_m, name: string) => EXPRESSIONS[name]!);
    if (o.kind === 'HorizontalPodAutoscaler') text = `{{- if .Values.autoscaling.enabled }}\n${text}{{- end }}\n`;
    files.set(`templates/${objectFileName(o)}`, text);
  }
  const deployment = objects.find((o) => o.kind === 'Deployment') as KubeObject & {
    spec: { template: { spec: { containers: { image: string }[]; initContainers?: { image?: string }[] } } };
  };
  const values = {
    image: deployment.spec.template.spec.containers[0]!.image,
    replicas: w.replicas,
    resources: { cpu: w.resources?.cpu ?? '', memory: w.resources?.memory ?? '', gpu: w.resources?.gpu ?? 0 },
    autoscaling: {
      enabled: w.scaling !== undefined && w.scaling.max > w.scaling.min,
      minReplicas: Math.max(1, scaling.min),
      maxReplicas: Math.max(scaling.max, 1),
      targetCPU: scaling.targetCPU,
      targetMemory: scaling.targetMemory,
    },
    // An application's bundle is fetched by an init container of the Wharf image; its own image is `image`.
    ...(w.model === undefined && initImage(deployment) !== undefined ? { wharfImage: initImage(deployment) } : {}),
    artifact: { registryUrl: input.manifests.registryUrl, ...(digestOf(w) ? { digest: digestOf(w) } : {}) },
  };
  files.set(
    'values.yaml',
    `# Settings of ${w.key.deployment} revision ${w.key.revision}, exported by Wharf ${WHARF_VERSION}.\n${stringify(values)}`,
  );
  files.set(
    'Chart.yaml',
    stringify({
      apiVersion: 'v2',
      name: w.key.deployment,
      description: `${w.key.deployment} (revision ${w.key.revision} in ${w.key.environment}), exported by Wharf`,
      type: 'application',
      version: `0.1.${w.key.revision}`,
      appVersion: w.model?.version ?? w.image ?? '0',
    }),
  );
  return files;
}

/** A copy of `o` with placeholders where values go. */
function placeholders(o: KubeObject, input: ExportInput): KubeObject {
  const out = structuredClone(o);
  out.metadata.namespace = p('namespace');
  const spec = out.spec as Record<string, unknown> | undefined;
  if (o.kind === 'HorizontalPodAutoscaler' && spec) {
    spec.minReplicas = p('minReplicas');
    spec.maxReplicas = p('maxReplicas');
    const [cpu, memory] = spec.metrics as { resource: { target: { averageUtilization: unknown } } }[];
    cpu!.resource.target.averageUtilization = p('targetCPU');
    memory!.resource.target.averageUtilization = p('targetMemory');
  }
  if (o.kind === 'Deployment' && spec) {
    spec.replicas = p('replicas');
    const pod = (spec.template as { spec: { containers: Container[]; initContainers?: Container[] } }).spec;
    const main = pod.containers[0]!;
    main.image = p('image');
    const r = main.resources ?? {};
    if (r.requests?.cpu) r.requests.cpu = p('cpu');
    for (const part of [r.requests, r.limits]) {
      if (part?.memory) part.memory = p('memory');
      if (part?.['nvidia.com/gpu']) part['nvidia.com/gpu'] = p('gpu');
    }
    const digest = digestOf(input.workload);
    for (const init of pod.initContainers ?? []) {
      // A model's init container runs the server's image (the Wharf image); a bundle's, the Wharf image beside the app's.
      init.image = input.workload.model ? p('image') : p('wharfImage');
      init.command = init.command?.map((arg) =>
        digest && arg.endsWith(`/api/v1/blobs/${digest}`)
          ? `${p('registryUrl')}/api/v1/blobs/${p('digest')}`
          : arg === digest
            ? p('digest')
            : arg,
      );
    }
  }
  return out;
}

/** The digest the pods download: the model's or the bundle's. */
function digestOf(w: ExportInput['workload']): string | undefined {
  return w.model?.digest ?? w.bundle?.digest;
}

/** The image of the Deployment's first init container, if it has one. */
function initImage(d: { spec: { template: { spec: { initContainers?: { image?: string }[] } } } }): string | undefined {
  return d.spec.template.spec.initContainers?.[0]?.image;
}

interface Container {
  image?: string;
  command?: string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
