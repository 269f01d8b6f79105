/**
 * The three ways the gateway benchmark reaches one model-server replica — directly, through the
 * Wharf gateway, through nginx — as serving-benchmark {@link Target}s, so `measureTarget` (verify,
 * warm up, wrk at each concurrency) applies unchanged. The replica itself is started once and
 * shared: "starting" the direct target hands it out, and "stopping" it leaves it running.
 */
import { mkdir } from 'node:fs/promises';
import { BENCH_ROUTE, BENCH_TOKEN, type BenchAccess } from './gateway-process.js';
import { NGINX, nginxErrorLog, writeNginxConf } from './gateway-nginx.js';
import { freePort } from './http.js';
import { startServer, type ServerProcess } from './processes.js';
import { protocolOutputs, type Target } from './targets.js';

/** The model server's own inference path. */
export const MODEL_PATH = `/v2/models/${BENCH_ROUTE.model}/infer`;
/** The prefix both proxies route to the model server (and strip): `/bench/readmission`. */
export const ROUTE_PREFIX = `/${BENCH_ROUTE.environment}/${BENCH_ROUTE.deployment}`;

/** What every path sends and how its answer is read: the same body, the same protocol response. */
interface Common {
  body: string;
}

function base(id: string, label: string, path: string, common: Common, start: () => Promise<ServerProcess>): Target {
  return {
    id,
    label,
    path,
    body: common.body,
    rowsPerRequest: 1,
    start,
    outputs: (json) => protocolOutputs(json, 'probability'),
  };
}

/** `replica` as a target's server that it does not own: the replica outlives the target, so `stop` does nothing. */
export function borrowed(replica: ServerProcess): ServerProcess {
  return {
    name: replica.name,
    url: replica.url,
    pid: replica.pid,
    output: () => replica.output(),
    stop: () => Promise.resolve(),
  };
}

/** wrk → model server. The replica outlives this target: its `stop` does nothing. */
export function directTarget(replica: ServerProcess, common: Common): Target {
  return base('direct', 'direct', MODEL_PATH, common, () => Promise.resolve(borrowed(replica)));
}

/** The gateway variants: id and label by what the route checks. */
const GATEWAY_VARIANTS: Readonly<Record<BenchAccess, { id: string; label: string }>> = {
  none: { id: 'gateway', label: 'Wharf gateway' },
  auth: { id: 'gateway-auth', label: 'Wharf gateway, auth on' },
  'rate-limit': { id: 'gateway-rate-limit', label: 'Wharf gateway, rate limit on' },
};

/**
 * wrk → Wharf gateway (its own process, see gateway-process.ts) → the replica; with `access`, the
 * route is protected (every request sends the bench token) or rate-limited (never refused).
 */
export function gatewayTarget(
  gatewayScript: string,
  replica: ServerProcess,
  common: Common,
  access: BenchAccess = 'none',
): Target {
  const { id, label } = GATEWAY_VARIANTS[access];
  const target = base(id, label, ROUTE_PREFIX + MODEL_PATH, common, () =>
    // Ready when /readyz answers 200, i.e. it is listening and has its route table.
    startServer({
      name: label,
      command: process.execPath,
      args: [gatewayScript, '0', replica.url, ...(access === 'none' ? [] : ['--access', access])],
      readyPath: '/readyz',
    }),
  );
  return access === 'auth' ? { ...target, headers: { authorization: `Bearer ${BENCH_TOKEN}` } } : target;
}

/** What an nginx target writes and runs, kept for the results file. */
export interface NginxSetup {
  conf?: string;
}

/** wrk → nginx (one worker, upstream keep-alive) → the replica. `setup.conf` is filled in on start. */
export function nginxTarget(dir: string, replica: ServerProcess, common: Common, setup: NginxSetup = {}): Target {
  return base('nginx', 'nginx', ROUTE_PREFIX + MODEL_PATH, common, async () => {
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const { args, conf } = await writeNginxConf({
      port,
      upstream: new URL(replica.url).host,
      prefix: `${ROUTE_PREFIX}/`,
      dir,
      runAsRoot: process.getuid?.() === 0,
    });
    setup.conf = conf;
    // Readiness through the proxy itself: 200 here means nginx is up *and* reaches the replica.
    const readyPath = `${ROUTE_PREFIX}/v2/health/ready`;
    return startServer({ name: 'nginx', command: NGINX, args, url: `http://127.0.0.1:${port}`, readyPath }).catch(
      async (err: Error) => {
        // Errors after nginx has read its configuration (e.g. bind) go to its log file, not to stderr.
        const log = await nginxErrorLog(dir);
        throw new Error(log ? `${err.message}\nerror.log:\n${log}` : err.message);
      },
    );
  });
}
