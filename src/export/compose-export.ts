/**
 * The Compose export: one revision on a single host or edge box, with the same two steps as a
 * pod — `fetch-artifact` downloads the model by digest into a volume and verifies it, then the
 * model server starts from it — plus the same probes as a health check, the same resources as
 * limits, and the same drain time as the stop grace period. Applications and workers: see
 * `compose-app.ts`. Pure.
 */
import { stringify } from 'yaml';
import { MODEL_FILE, MODEL_MOUNT } from '../runtime/manifests/pod-template.js';
import { MANIFEST_DEFAULTS, resolveManifestOptions } from '../runtime/manifests/manifest-options.js';
import { InvalidArgumentError } from '../core/errors.js';
import { MODEL_PROBE_PATHS } from '../protocol/oip-paths.js';
import type { ExportInput } from './export-source.js';
import { composeApp } from './compose-app.js';
import { appPort, checkCommandWorkload, isWorker } from '../runtime/manifests/app-container.js';

/** `docker compose up -d` in DIR. */
export function composeExport(input: ExportInput): Map<string, string> {
  const w = input.workload;
  const o = resolveManifestOptions(input.manifests);
  if (!w.model) return commandCompose(w, o);
  const port = o.port;
  const probe = w.readiness;
  const ready = `fetch('http://127.0.0.1:${port}${probe.path || MODEL_PROBE_PATHS.readiness}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`;
  const limits = composeLimits(w);
  const compose = {
    name: `${w.key.deployment}-${w.key.environment}`,
    services: {
      'fetch-artifact': {
        image: o.image,
        command: [
          'fetch-artifact',
          '--url',
          `${o.registryUrl.replace(/\/+$/, '')}/api/v1/blobs/${w.model.digest}`,
          '--digest',
          w.model.digest,
          '--out',
          MODEL_FILE,
        ],
        volumes: [`models:${MODEL_MOUNT}`],
        // The registry's pull token comes from the host's environment, never from this file.
        environment: { WHARF_PULL_TOKEN: '${WHARF_PULL_TOKEN:-}' },
        restart: 'no',
      },
      model: {
        image: o.image,
        command: [
          'serve-model',
          '--model',
          MODEL_FILE,
          '--name',
          w.key.deployment,
          '--version',
          w.model.version,
          '--host',
          '0.0.0.0',
          '--port',
          String(port),
          '--grace-period',
          String(o.drainSeconds),
          ...(w.model.serverArgs ?? []),
        ],
        depends_on: { 'fetch-artifact': { condition: 'service_completed_successfully' } },
        volumes: [`models:${MODEL_MOUNT}:ro`],
        environment: {
          ...w.env,
          ...secretEnvironment(w.secretEnv),
          PORT: String(port),
          WHARF_DEPLOYMENT: w.key.deployment,
          WHARF_REVISION: String(w.key.revision),
        },
        // One replica publishes the port as is; several get ephemeral host ports (put a proxy in front).
        ports: [w.replicas === 1 ? `${port}:${port}` : String(port)],
        read_only: true,
        tmpfs: ['/tmp'],
        user: '10001:10001',
        healthcheck: {
          test: ['CMD', 'node', '-e', ready],
          interval: `${Math.max(1, Math.round(probe.intervalMs / 1000))}s`,
          timeout: `${Math.max(1, Math.round(probe.timeoutMs / 1000))}s`,
          retries: probe.retries,
          start_period: `${Math.round(probe.startupGraceMs / 1000)}s`,
        },
        stop_grace_period: `${o.drainSeconds + 5}s`,
        restart: 'unless-stopped',
        deploy: { replicas: w.replicas, ...(Object.keys(limits).length ? { resources: { limits } } : {}) },
      },
    },
    volumes: { models: {} },
  };
  const header = `# ${w.key.deployment} revision ${w.key.revision} (${w.key.environment}), exported by Wharf. Image default: ${MANIFEST_DEFAULTS.image}\n`;
  return new Map([['docker-compose.yml', header + stringify(compose)]]);
}

/** An application or worker: see `compose-app.ts`. */
function commandCompose(w: ExportInput['workload'], o: ReturnType<typeof resolveManifestOptions>): Map<string, string> {
  checkCommandWorkload(w);
  const port = appPort(w);
  const app = composeApp(w, o, {
    ...w.env,
    ...secretEnvironment(w.secretEnv),
    ...(port === undefined ? {} : { PORT: String(port) }),
    WHARF_DEPLOYMENT: w.key.deployment,
    WHARF_REVISION: String(w.key.revision),
  });
  const main = app.services[isWorker(w) ? 'worker' : 'app']!;
  const limits = composeLimits(w);
  main.deploy = { replicas: w.replicas, ...(Object.keys(limits).length ? { resources: { limits } } : {}) };
  const compose = {
    name: `${w.key.deployment}-${w.key.environment}`,
    services: app.services,
    ...(Object.keys(app.volumes).length ? { volumes: app.volumes } : {}),
  };
  const header = [
    `# ${w.key.deployment} revision ${w.key.revision} (${w.key.environment}), exported by Wharf.`,
    ...app.notes.map((n) => `# ${n}`),
  ].join('\n');
  return new Map([['docker-compose.yml', `${header}\n${stringify(compose)}`]]);
}

function composeLimits(w: ExportInput['workload']): Record<string, string> {
  return {
    ...(w.resources?.cpu ? { cpus: cpus(w.resources.cpu) } : {}),
    ...(w.resources?.memory ? { memory: bytes(w.resources.memory) } : {}),
  };
}

/**
 * Secret-backed variables as Compose interpolations of the host's environment (`${VAR:?…}`: compose
 * refuses to start without them), so the file names the secret and key, never a value.
 */
function secretEnvironment(refs: ExportInput['workload']['secretEnv']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(refs ?? {}).map(([name, ref]) => [
      name,
      `\${${name}:?set ${name} to key ${ref.key} of Wharf secret ${ref.secret}}`,
    ]),
  );
}

/** Kubernetes cpu quantity → Compose cpus: `500m` → `0.5`, `2` → `2`. */
export function cpus(quantity: string): string {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity);
  if (!m) throw new InvalidArgumentError(`configuration.resources.cpu: ${quantity} cannot be expressed for compose`);
  return String(m[2] ? Number(m[1]) / 1000 : Number(m[1]));
}

/** Kubernetes memory quantity → Compose bytes string: `512Mi` → `512m`, `1Gi` → `1g`, `1G` → `1000000000b`. */
export function bytes(quantity: string): string {
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!m) throw new InvalidArgumentError(`configuration.resources.memory: ${quantity} cannot be expressed for compose`);
  const n = Number(m[1]);
  switch (m[2]) {
    case 'Ki':
      return `${n}k`;
    case 'Mi':
      return `${n}m`;
    case 'Gi':
      return `${n}g`;
    case 'Ti':
      return `${n * 1024}g`;
    case 'k':
      return `${n * 1000}b`;
    case 'M':
      return `${n * 1000 * 1000}b`;
    case 'G':
      return `${n * 1e9}b`;
    case 'T':
      return `${n * 1e12}b`;
    default:
      return `${n}b`;
  }
}
