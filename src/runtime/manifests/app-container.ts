/**
 * The containers of an application or worker pod (a {@link Workload} with a `command`). Pure.
 *
 * - With an `image`, the image runs the workload's command (`command` replaces its entrypoint).
 * - Without one, with a `bundle`: the base image (`appBaseImage`, default the Wharf image, which
 *   has Node.js) runs it, and the init container `fetch-bundle` downloads the bundle from the
 *   registry by digest with the namespace's pull token, verifies its sha256 and unpacks it into
 *   the emptyDir `bundle`, mounted read-only at {@link BUNDLE_MOUNT} as the working directory (a
 *   relative `workingDir` is inside it). A pod never runs code other than the revision's.
 * - An application listens on `port` (default {@link APP_PORT_DEFAULT}) and finds it in `$PORT`;
 *   `$(PORT)` in an argument is Kubernetes' own expansion, so arguments pass through unchanged.
 *   It has HTTP probes from the workload and a `preStop` delay (the Service drops it first).
 * - A worker (`serves: 'none'`) has no port and no HTTP probe; its liveness is the process, plus
 *   an exec probe when it has a `healthCommand`.
 */
import { posix } from 'node:path';
import type { Container } from 'kubernetes-types/core/v1.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { Workload } from '../runtime.js';
import {
  containerEnv,
  containerResources,
  execProbes,
  httpProbes,
  INIT_RESOURCES,
  pullTokenEnv,
  restricted,
} from './container-parts.js';
import type { ResolvedManifestOptions } from './manifest-options.js';

/** Where a bundle is unpacked inside the pod: the command's working directory. */
export const BUNDLE_MOUNT = '/app';
/** The port an application listens on when its workload names none. */
export const APP_PORT_DEFAULT = 8080;
/** A worker's default time to finish the task at hand after SIGTERM (Kubernetes' own default). */
export const WORKER_GRACE_SECONDS_DEFAULT = 30;

/** True for a workload that listens on no port (a worker). */
export function isWorker(w: Workload): boolean {
  return w.serves === 'none';
}

/** The port an application's container listens on; undefined for a worker. */
export function appPort(w: Workload): number | undefined {
  return isWorker(w) ? undefined : (w.port ?? APP_PORT_DEFAULT);
}

/**
 * Throws InvalidArgumentError naming the field for a command workload Kubernetes cannot run as
 * described: neither `image` nor `bundle`, a port out of range or on a worker, a relative working
 * directory without a bundle to be relative to, one that leaves the bundle, an empty health command.
 */
export function checkCommandWorkload(w: Workload): void {
  const fail = (field: string, rule: string): never => {
    throw new InvalidArgumentError(`workload ${w.key.deployment}: ${field}: ${rule}`);
  };
  if (!w.image && !w.bundle)
    fail('image', 'required for an application or worker on the kubernetes runtime, unless it has a bundle');
  if (w.port !== undefined) {
    if (isWorker(w)) fail('port', 'a worker listens on no port');
    if (!Number.isInteger(w.port) || w.port < 1 || w.port > 65535)
      fail('port', `must be an integer from 1 to 65535, got ${String(w.port)}`);
  }
  const dir = w.command?.workingDir;
  if (dir !== undefined && dir !== '') {
    if (!w.bundle && !dir.startsWith('/'))
      fail(
        'command.workingDir',
        `must be absolute for an image without a bundle (the image's own directory is unknown), got ${dir}`,
      );
    const inside = bundleDir(dir);
    if (w.bundle && inside !== BUNDLE_MOUNT && !inside.startsWith(`${BUNDLE_MOUNT}/`))
      fail('command.workingDir', `must stay inside the bundle, got ${dir}`);
  }
  if (w.healthCommand && (w.healthCommand.argv.length === 0 || w.healthCommand.argv.some((a) => typeof a !== 'string')))
    fail('healthCommand.argv', 'must be a non-empty array of strings');
  const grace = w.terminationGracePeriodMs;
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0))
    fail('terminationGracePeriodMs', `must be a non-negative integer, got ${String(grace)}`);
}

/** The main container of a command workload (checked by {@link checkCommandWorkload} first). */
export function commandContainer(w: Workload, o: ResolvedManifestOptions): Container {
  checkCommandWorkload(w);
  const port = appPort(w);
  const workingDir = w.bundle ? bundleDir(w.command?.workingDir ?? '') : w.command?.workingDir || undefined;
  return {
    name: isWorker(w) ? 'worker' : 'app',
    image: w.image || o.appBaseImage,
    ...(w.command ? { command: [...w.command.argv] } : {}),
    ...(workingDir ? { workingDir } : {}),
    ...(port === undefined ? {} : { ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] }),
    env: containerEnv(w, port),
    resources: containerResources(w),
    // A worker is in no Service, so it has no endpoint to leave before SIGTERM.
    ...(port === undefined
      ? {}
      : { lifecycle: { preStop: { exec: { command: ['sleep', String(o.preStopSeconds)] } } } }),
    securityContext: restricted(),
    volumeMounts: [
      ...(w.bundle ? [{ name: 'bundle', mountPath: BUNDLE_MOUNT, readOnly: true }] : []),
      { name: 'tmp', mountPath: '/tmp' },
    ],
    ...(port === undefined ? execProbes(w) : httpProbes(w, { readiness: '', liveness: '' })),
  };
}

/** The init container that downloads, verifies and unpacks the bundle (`wharf fetch-artifact --unpack`). */
export function bundleFetchContainer(w: Workload, o: ResolvedManifestOptions): Container {
  const digest = w.bundle!.digest;
  return {
    name: 'fetch-bundle',
    image: o.image,
    command: [
      'wharf',
      'fetch-artifact',
      '--url',
      `${o.registryUrl.replace(/\/+$/, '')}/api/v1/blobs/${digest}`,
      '--digest',
      digest,
      '--out',
      BUNDLE_MOUNT,
      '--unpack',
    ],
    ...pullTokenEnv(o),
    volumeMounts: [{ name: 'bundle', mountPath: BUNDLE_MOUNT }],
    resources: INIT_RESOURCES,
    securityContext: restricted(),
  };
}

/**
 * Seconds between SIGTERM (after the preStop delay, which the period includes) and SIGKILL: the
 * workload's own grace plus the preStop delay; else, for a worker, {@link WORKER_GRACE_SECONDS_DEFAULT},
 * and for an application the same as a model server.
 */
export function commandGraceSeconds(w: Workload, o: ResolvedManifestOptions): number {
  const preStop = isWorker(w) ? 0 : o.preStopSeconds;
  if (w.terminationGracePeriodMs !== undefined) return preStop + Math.ceil(w.terminationGracePeriodMs / 1000);
  return isWorker(w) ? WORKER_GRACE_SECONDS_DEFAULT : o.preStopSeconds + o.drainSeconds + 5;
}

/** `relative` inside the bundle's mount (`..` may leave it: {@link checkCommandWorkload} refuses that). */
function bundleDir(relative: string): string {
  return posix.join(BUNDLE_MOUNT, relative);
}
