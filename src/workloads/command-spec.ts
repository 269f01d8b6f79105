/**
 * What `application` and `worker` deployments share: the rules of a spec that runs a command
 * (`configuration.command`, `args`, `workingDir`, `port`, `healthCommand`,
 * `terminationGracePeriod`, `bundle`), and the runtime workload of one of their revisions. The two
 * kinds differ in what they serve (an application listens on `$PORT` and is probed over HTTP; a
 * worker listens on nothing), which each kind passes in. Pure.
 *
 * Where the code comes from: a pushed bundle (`bundle: {name, version}`, unpacked by the local
 * runtime, fetched by an init container on Kubernetes), an `image` (Kubernetes), or neither, when
 * the command is a program this machine has (an absolute path, or a bare name looked up in
 * `PATH`). A relative program path (`./serve.sh`, `app/main.py`) needs a bundle to be relative to.
 * Whether the environment's engine can run a spec without image or bundle (Kubernetes cannot) is
 * the deployment service's check, which knows the environment (see {@link runnableOn}).
 */
import type { DeploymentSpec, RuntimeBinding } from '../core/resources.js';
import { plainEnv } from '../core/env-spec.js';
import { fail } from '../core/validation.js';
import type { Workload } from '../runtime/runtime.js';
import { baseWorkload, type ProbePaths } from './workload-base.js';
import type { WorkloadSource } from './workload-kind.js';

/** Seconds a replica gets after SIGTERM when the spec names none (as Kubernetes). */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;
/** The longest grace period a spec may ask for: an hour. */
export const MAX_TERMINATION_GRACE_SECONDS = 3600;

/** What differs between the two command kinds. */
export interface CommandKindRules {
  /** `application` or `worker`, for messages. */
  readonly type: 'application' | 'worker';
  /** A worker listens on no port: `configuration.port` is refused. */
  readonly listens: boolean;
}

/** Throws `INVALID_ARGUMENT` naming the field unless the command part of `spec` is valid. */
export function validateCommandSpec(spec: DeploymentSpec, rules: CommandKindRules): void {
  const c = spec.configuration as unknown as Record<string, unknown>;
  if (spec.model !== undefined)
    fail(
      'model',
      `must not be set for type '${rules.type}' (it runs configuration.command; type 'model' serves a model)`,
    );
  if (spec.bundle !== undefined) validateBundleReference(spec.bundle);
  const command = stringList(c.command, 'configuration.command', { required: true });
  if (c.args !== undefined) stringList(c.args, 'configuration.args', { required: false });
  const program = command[0]!;
  const bundled = spec.bundle !== undefined;
  if (!bundled && c.image === undefined && program.includes('/') && !program.startsWith('/'))
    fail(
      'configuration.command',
      `a relative program path needs a bundle to be relative to (push one with 'wharf app push' and set bundle: {name, version}), or use an absolute path or a program on PATH`,
      program,
    );
  if (c.workingDir !== undefined) workingDir(c.workingDir, bundled);
  if (c.port !== undefined) {
    if (!rules.listens)
      fail('configuration.port', "must not be set for type 'worker': a worker listens on no port", c.port);
    if (typeof c.port !== 'number' || !Number.isInteger(c.port) || c.port < 1 || c.port > 65535)
      fail('configuration.port', 'must be an integer from 1 to 65535', c.port);
  }
  if (c.protocol !== undefined) {
    if (!rules.listens) fail('configuration.protocol', "must not be set for type 'worker': it serves nothing");
    if (c.protocol !== 'http' && c.protocol !== 'oip')
      fail('configuration.protocol', "must be 'http' or 'oip'", c.protocol);
  }
  if (c.healthCommand !== undefined) {
    if (rules.listens)
      fail(
        'configuration.healthCommand',
        "is for type 'worker'; an application is probed over HTTP (configuration.healthCheck.path)",
      );
    stringList(c.healthCommand, 'configuration.healthCommand', { required: true });
  }
  const grace = c.terminationGracePeriod;
  if (
    grace !== undefined &&
    (typeof grace !== 'number' || !Number.isFinite(grace) || grace < 0 || grace > MAX_TERMINATION_GRACE_SECONDS)
  )
    fail(
      'configuration.terminationGracePeriod',
      `must be a number of seconds from 0 to ${MAX_TERMINATION_GRACE_SECONDS}`,
      grace,
    );
}

/** Throws unless `bundle` is `{name, version}` with a DNS-label name and a non-empty version. */
export function validateBundleReference(bundle: unknown): void {
  if (typeof bundle !== 'object' || bundle === null || Array.isArray(bundle))
    fail('bundle', 'must be an object', bundle);
  const { name, version, ...rest } = bundle as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) fail(`bundle.${extra}`, 'unknown field (allowed: name, version)');
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
    fail(
      'bundle.name',
      "must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit",
      name,
    );
  if (typeof version !== 'string' || version === '' || version.includes('/'))
    fail('bundle.version', "must be a non-empty version without '/'", version);
}

/**
 * Why a spec cannot run on an environment bound to `runtime`, or undefined when it can: on
 * Kubernetes a command runs in a container, so the spec needs an `image` or a `bundle` (run on the
 * engine's base image). Locally any spec the kind accepted runs.
 */
export function runnableOn(spec: DeploymentSpec, runtime: RuntimeBinding): { field: string; rule: string } | undefined {
  if (spec.type !== 'application' && spec.type !== 'worker') return undefined;
  if (runtime !== 'kubernetes') return undefined;
  if (spec.configuration.image !== undefined || spec.bundle !== undefined) return undefined;
  return {
    field: 'configuration.image',
    rule: `an image or a bundle is required on the kubernetes runtime (a ${spec.type} runs in a container there): set configuration.image, or push the code with 'wharf app push' and set bundle: {name, version}`,
  };
}

/**
 * The workload of one revision of a command deployment: the common part, the command (`command`
 * then `args`), the bundle it runs inside, the port (Kubernetes), what it serves, the health
 * command and the grace period. `serves: 'none'` (a worker) has no HTTP probes to run.
 */
export function commandWorkload(source: WorkloadSource, paths: ProbePaths, serves: 'http' | 'none'): Workload {
  const { spec } = source;
  const c = spec.configuration;
  const { key, replicas, ...rest } = baseWorkload(source, paths);
  if (spec.bundle !== undefined && (source.bundleVersion === undefined || source.bundlePath === undefined))
    throw new Error(`${spec.type}: a workload with a bundle needs the bundle version and its artifact path`);
  const env = plainEnv(c.env);
  const grace = c.terminationGracePeriod ?? DEFAULT_TERMINATION_GRACE_SECONDS;
  return {
    key,
    replicas,
    command: {
      argv: [...(c.command ?? []), ...(c.args ?? [])],
      ...(c.workingDir === undefined ? {} : { workingDir: c.workingDir }),
    },
    ...(source.bundleVersion === undefined || source.bundlePath === undefined
      ? {}
      : { bundle: { artifactPath: source.bundlePath, digest: source.bundleVersion.artifact.digest } }),
    ...(c.port === undefined ? {} : { port: c.port }),
    serves,
    ...(c.healthCommand === undefined ? {} : { healthCommand: { argv: [...c.healthCommand] } }),
    terminationGracePeriodMs: Math.round(grace * 1000),
    ...(c.image === undefined ? {} : { image: c.image }),
    ...(Object.keys(env).length === 0 ? {} : { env }),
    ...rest,
  };
}

function stringList(value: unknown, field: string, options: { required: boolean }): string[] {
  if (value === undefined && options.required)
    fail(field, 'is required: the program to run and its arguments, e.g. ["python3", "app.py"]');
  if (!Array.isArray(value) || value.some((a) => typeof a !== 'string'))
    fail(field, 'must be an array of strings', value);
  const list = value as string[];
  if (options.required && (list.length === 0 || list[0] === ''))
    fail(field, 'must name a program: a non-empty array whose first item is not empty', value);
  if (list.length > 256) fail(field, `must have at most 256 items, got ${list.length}`);
  if (list.some((a) => a.length > 4096 || a.includes('\0')))
    fail(field, 'items must be at most 4096 characters, without NUL');
  return list;
}

function workingDir(value: unknown, bundled: boolean): void {
  if (typeof value !== 'string' || value === '') fail('configuration.workingDir', 'must be a non-empty path', value);
  if (value.split('/').includes('..')) fail('configuration.workingDir', "must not contain '..'", value);
  if (bundled && value.startsWith('/'))
    fail('configuration.workingDir', "must be relative to the bundle's root when a bundle is set", value);
}
