/**
 * The Compose services of an application or worker revision, as the Kubernetes pod runs it
 * (`runtime/manifests/app-container.ts`). Pure.
 *
 * - With an `image`, the service runs it with the workload's command as `entrypoint` (as
 *   Kubernetes' `command` replaces the image's entrypoint).
 * - Without one, the bundle is fetched first: `fetch-bundle` (the Wharf image) downloads it by
 *   digest, verifies and unpacks it into the volume `bundle`, and the service runs the base image
 *   with the volume mounted read-only at `/app` as its working directory.
 * - `$(PORT)` (and `$(VAR)` of the workload's plain `env`) is Kubernetes' expansion, which Compose
 *   does not do: it is replaced by the value here, and any other `$` is escaped as `$$`.
 * - An application publishes its port and, when it runs in the Wharf image (which has Node.js to
 *   run the check), gets its readiness path as health check; a worker publishes nothing and its
 *   `healthCommand` is its health check.
 */
import { BUNDLE_MOUNT, appPort, commandGraceSeconds, isWorker } from '../runtime/manifests/app-container.js';
import type { ResolvedManifestOptions } from '../runtime/manifests/manifest-options.js';
import type { Workload } from '../runtime/runtime.js';
import { posix } from 'node:path';

/** Services and volumes of one command workload, and notes for the file's header. */
export interface ComposeApp {
  readonly services: Record<string, Record<string, unknown>>;
  readonly volumes: Record<string, object>;
  readonly notes: string[];
}

/** See the module comment; `environment` holds the common variables (env, secrets, PORT, ids). */
export function composeApp(w: Workload, o: ResolvedManifestOptions, environment: Record<string, string>): ComposeApp {
  const worker = isWorker(w);
  const port = appPort(w);
  const fetched = w.bundle !== undefined && !w.image;
  const image = w.image || o.appBaseImage;
  const values: Record<string, string> = { ...w.env, ...(port === undefined ? {} : { PORT: String(port) }) };
  const notes: string[] = [];
  const services: Record<string, Record<string, unknown>> = {};
  if (fetched) {
    services['fetch-bundle'] = {
      image: o.image,
      command: [
        'fetch-artifact',
        '--url',
        `${o.registryUrl.replace(/\/+$/, '')}/api/v1/blobs/${w.bundle!.digest}`,
        '--digest',
        w.bundle!.digest,
        '--out',
        BUNDLE_MOUNT,
        '--unpack',
      ],
      volumes: [`bundle:${BUNDLE_MOUNT}`],
      // The registry's pull token comes from the host's environment, never from this file.
      environment: { WHARF_PULL_TOKEN: '${WHARF_PULL_TOKEN:-}' },
      restart: 'no',
    };
  }
  const workingDir = fetched
    ? posix.join(BUNDLE_MOUNT, w.command?.workingDir ?? '')
    : w.command?.workingDir || undefined;
  const health = worker
    ? w.healthCommand && { test: ['CMD', ...w.healthCommand.argv.map((a) => expand(a, values))] }
    : image === o.image
      ? {
          test: [
            'CMD',
            'node',
            '-e',
            `fetch('http://127.0.0.1:${port}${w.readiness.path}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
          ],
        }
      : undefined;
  if (!worker && !health)
    notes.push(`health: GET ${w.readiness.path} on port ${port}; add a healthcheck your image can run`);
  services[worker ? 'worker' : 'app'] = {
    image,
    ...(w.command ? { entrypoint: w.command.argv.map((a) => expand(a, values)) } : {}),
    ...(workingDir ? { working_dir: workingDir } : {}),
    ...(fetched ? { depends_on: { 'fetch-bundle': { condition: 'service_completed_successfully' } } } : {}),
    volumes: fetched ? [`bundle:${BUNDLE_MOUNT}:ro`] : [],
    environment,
    // One replica publishes the port as is; several get ephemeral host ports (put a proxy in front).
    ...(port === undefined ? {} : { ports: [w.replicas === 1 ? `${port}:${port}` : String(port)] }),
    read_only: true,
    tmpfs: ['/tmp'],
    user: '10001:10001',
    ...(health
      ? {
          healthcheck: {
            ...health,
            interval: `${Math.max(1, Math.round(w.liveness.intervalMs / 1000))}s`,
            timeout: `${Math.max(1, Math.round(w.liveness.timeoutMs / 1000))}s`,
            retries: w.liveness.retries,
            start_period: `${Math.round(w.liveness.startupGraceMs / 1000)}s`,
          },
        }
      : {}),
    stop_grace_period: `${commandGraceSeconds(w, o)}s`,
    restart: 'unless-stopped',
  };
  return { services, volumes: fetched ? { bundle: {} } : {}, notes };
}

/** Kubernetes' `$(VAR)` expansion from `values`, then `$` escaped for Compose's interpolation. */
function expand(arg: string, values: Readonly<Record<string, string>>): string {
  const expanded = arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) =>
    name === undefined ? '$' : (values[name] ?? m),
  );
  return expanded.replaceAll('$', () => '$$');
}
