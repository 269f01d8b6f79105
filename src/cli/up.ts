/**
 * `wharf up`: the whole platform on this machine; `wharf gateway`: a gateway following a control plane.
 * Both only parse flags here; server/ assembles the processes (control-plane.ts, standalone-gateway.ts).
 */
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { readGatewayState } from '../gateway/gateway-state.js';
import { isSameProcess } from '../runtime/local/process-identity.js';
import type { RuntimeSettings } from '../server/runtime-selection.js';
import { readCredentials } from '../server/credentials-file.js';
import { checkOidcSettings, type OidcSettings } from '../core/identity/oidc-settings.js';
import { usageError } from './exit-codes.js';
import { domainName, integer } from './options.js';
import { checkPortsFree } from './port-check.js';
import { action } from './run-action.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The port of the gateway process recorded in `stateDir`, if that process still runs. */
function ownGatewayPort(stateDir: string): number | undefined {
  const recorded = readGatewayState(stateDir);
  if (recorded === undefined || !isSameProcess({ pid: recorded.pid, startTime: recorded.processStartTime }))
    return undefined;
  return recorded.port;
}

/** The kubernetes runtime's flags of `wharf up`. */
interface KubernetesFlags {
  runtime?: string;
  kubeconfig?: string;
  context?: string;
  namespacePrefix?: string;
  namespace: Record<string, string>;
  registryUrl?: string;
  image?: string;
  httpRouteGateway?: string;
}

/** The OIDC flags of `wharf up`. */
interface OidcFlags {
  oidcIssuer?: string;
  oidcAudience?: string;
  oidcGroupsClaim?: string;
  oidcUsernameClaim?: string;
}

/** OIDC settings from the flags or WHARF_OIDC_* (flags win); undefined when no issuer is given. */
function oidcSettings(f: OidcFlags): OidcSettings | undefined {
  const env = (name: string): string | undefined => process.env[name] || undefined;
  const issuer = f.oidcIssuer ?? env('WHARF_OIDC_ISSUER');
  const audience = f.oidcAudience ?? env('WHARF_OIDC_AUDIENCE');
  if (issuer === undefined && audience === undefined) return undefined;
  if (issuer === undefined || audience === undefined)
    throw usageError('--oidc-issuer and --oidc-audience (or WHARF_OIDC_ISSUER and WHARF_OIDC_AUDIENCE) go together');
  const groupsClaim = f.oidcGroupsClaim ?? env('WHARF_OIDC_GROUPS_CLAIM');
  const usernameClaim = f.oidcUsernameClaim ?? env('WHARF_OIDC_USERNAME_CLAIM');
  try {
    return checkOidcSettings({
      issuer,
      audience,
      ...(groupsClaim === undefined ? {} : { groupsClaim }),
      ...(usernameClaim === undefined ? {} : { usernameClaim }),
    });
  } catch (e) {
    throw usageError(`--${(e as Error).message.replace(/^oidc /, 'oidc-')}`);
  }
}

/** Collects repeated `--namespace env=ns` values. */
/** `--auth`: token (the default) or none. */
function authMode(value: string): 'token' | 'none' {
  if (value !== 'token' && value !== 'none') throw new InvalidArgumentError('must be token or none');
  return value;
}

/** The token in a credentials file given to `wharf gateway --token-file`. */
function gatewayTokenOf(file: string): string {
  const credentials = readCredentials(resolve(file));
  if (credentials === undefined) throw new Error(`--token-file ${file}: not a readable credentials file with a token`);
  return credentials.token;
}

function collectPairs(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError('must be ENVIRONMENT=NAMESPACE');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/**
 * A signal that arrives this soon after the first is the same request delivered twice, not a
 * second one: Ctrl-C under `npm start` reaches wharf from the terminal (the whole foreground
 * process group) and again from npm, which forwards SIGINT and SIGTERM to its script.
 */
const SAME_SIGNAL_MS = 1_000;

/** Runs `stop` on the first SIGINT/SIGTERM and exits; a second signal (after SAME_SIGNAL_MS) exits at once. */
function onSignals(stop: () => Promise<void>): void {
  let stoppingSince: number | undefined;
  const handler = (signal: string): void => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
      process.stderr.write(`wharf: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    process.stderr.write('wharf: stopping…\n');
    void stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`wharf: stop failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

/** Registers `up` and `gateway`. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('Run Wharf on this machine: API, controllers, gateway and model replicas')
    .option('--home <dir>', 'data folder (default ./.wharf or $WHARF_HOME)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'API port', integer(0, 65535), 8080)
    .option('--gateway-port <port>', 'inference gateway port', integer(0, 65535), 8000)
    .option('--no-demo', 'do not register and deploy the demo model on first start')
    .option(
      '--auth <mode>',
      'token: every API call needs a credential (the admin token is written to $WHARF_HOME/credentials on first start); none: throwaway local use only, loopback --host only',
      authMode,
      'token',
    )
    .option('--oidc-issuer <url>', 'also accept bearer JWTs of this OpenID Connect issuer (default $WHARF_OIDC_ISSUER)')
    .option('--oidc-audience <aud>', 'the audience (client id) those JWTs must carry (default $WHARF_OIDC_AUDIENCE)')
    .option(
      '--oidc-groups-claim <claim>',
      "the JWT claim with the caller's groups (default $WHARF_OIDC_GROUPS_CLAIM, else groups)",
    )
    .option(
      '--oidc-username-claim <claim>',
      'the JWT claim naming the caller (default $WHARF_OIDC_USERNAME_CLAIM, else preferred_username, email, sub)',
    )
    .option(
      '--prometheus-url <url>',
      'a Prometheus server for PromQL analysis metrics (default $WHARF_PROMETHEUS_URL; built-in metrics need none)',
    )
    .option(
      '--max-json-body <bytes>',
      'largest JSON request body the API accepts (default 1048576); model pushes have their own cap',
      integer(1024, 1 << 30),
    )
    .option(
      '--gateway-url <url...>',
      'other gateways (wharf gateway) whose /metrics feed the built-in analysis metrics',
    )
    .option(
      '--runtime <engine>',
      "engine of every environment: local or kubernetes (default: each environment's own runtime)",
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig for the kubernetes runtime (default $KUBECONFIG, ~/.kube/config, or in-cluster)',
    )
    .option('--context <name>', 'kubeconfig context for the kubernetes runtime')
    .option('--namespace-prefix <prefix>', 'environment E runs in namespace <prefix>E (default wharf-)')
    .option('--namespace <env=namespace>', 'namespace of one environment (repeatable)', collectPairs, {})
    .option('--registry-url <url>', 'URL model pods download artifacts from (this API as the cluster reaches it)')
    .option('--image <image>', 'image with the wharf command for model pods')
    .option(
      '--http-route-gateway <gateway>',
      'keep a Gateway API HTTPRoute per deployment attached to this Gateway ([namespace/]name)',
    )
    .option('--debug-headers', 'the gateway names the replica that answered in an x-wharf-backend response header')
    .option(
      '--domain <domain>',
      'the gateway also serves application A of environment E at A.E.<domain> (localhost: no DNS needed)',
      domainName,
      'localhost',
    )
    .option('--tls <mode>', "'auto': serve the API over HTTPS with a local CA and certificate made in <home>/tls")
    .option('--tls-cert <file>', 'serve the API over HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--tls-ca <file>',
      'the CA that signed --tls-cert, for the gateway and the CLI to trust (default: the certificate)',
    )
    .option(
      '--enable-test-faults',
      'TEST ONLY: honour the wharf.dev/test-fault-* labels of model versions (injected errors and latency); never in production',
    )
    .action(
      action(
        async (
          f: {
            home?: string;
            host: string;
            port: number;
            gatewayPort: number;
            demo: boolean;
            auth: 'token' | 'none';
            prometheusUrl?: string;
            gatewayUrl?: string[];
            debugHeaders?: boolean;
            domain: string;
            maxJsonBody?: number;
            enableTestFaults?: boolean;
            tls?: string;
            tlsCert?: string;
            tlsKey?: string;
            tlsCa?: string;
          } & KubernetesFlags &
            OidcFlags,
        ) => {
          const tls = tlsOption(f);
          if (f.auth === 'none') {
            if (!LOOPBACK.has(f.host))
              throw new Error(
                `--auth none serves every caller as an admin: it is for throwaway local use on a loopback --host only (127.0.0.1, ::1, localhost), not ${f.host}`,
              );
            process.stderr.write(
              'WARNING: --auth none: every caller acts as an admin with no credential; for throwaway local use only\n',
            );
          }
          const oidc = oidcSettings(f);
          const home = resolve(f.home ?? process.env.WHARF_HOME ?? '.wharf');
          // The gateway port is ours when the gateway that an earlier `wharf up` left running holds it:
          // the control plane adopts that process instead of starting a second one.
          const gatewayIsOurs = ownGatewayPort(join(home, 'gateway')) === f.gatewayPort;
          await checkPortsFree(f.host, [
            { port: f.port, what: 'API', flag: '--port' },
            ...(gatewayIsOurs ? [] : [{ port: f.gatewayPort, what: 'gateway', flag: '--gateway-port' }]),
          ]);
          // Loaded here, not at the top: `wharf gateway` (the gateway process of `wharf up`) shares this
          // module and would otherwise carry the whole control plane (about 90 MB more memory).
          const { startControlPlane } = await import('../server/control-plane.js');
          const { seedDemo } = await import('../server/demo.js');
          const cp = await startControlPlane({
            home,
            host: f.host,
            port: f.port,
            gatewayPort: f.gatewayPort,
            databaseUrl: process.env.WHARF_DATABASE_URL,
            auditKeyFile: process.env.WHARF_AUDIT_KEY_FILE || undefined,
            prometheusUrl: f.prometheusUrl ?? process.env.WHARF_PROMETHEUS_URL,
            gatewayUrls: f.gatewayUrl ?? [],
            gatewayDebugHeaders: f.debugHeaders === true,
            gatewayDomain: f.domain,
            maxJsonBodyBytes: f.maxJsonBody,
            testFaults: f.enableTestFaults === true,
            auth: f.auth,
            ...(oidc === undefined ? {} : { oidc }),
            ...(tls === undefined ? {} : { tls }),
            runtime: {
              runtime: f.runtime as RuntimeSettings['runtime'],
              kubeconfig: f.kubeconfig,
              context: f.context,
              namespacePrefix: f.namespacePrefix,
              namespaces: f.namespace,
              registryUrl: f.registryUrl,
              image: f.image,
              httpRouteGateway: f.httpRouteGateway,
            },
            log: (line) => process.stderr.write(`wharf: ${line}\n`),
          });
          onSignals(() => cp.stop());
          process.stdout.write(`Wharf is up: API ${cp.apiUrl}  gateway ${cp.gatewayUrl}  home ${home}\n`);
          if (cp.tls !== undefined)
            process.stdout.write(
              `TLS: the CLI trusts ${cp.tls.caFile} (found there under $WHARF_HOME, or set WHARF_CA_FILE); set WHARF_URL=${cp.apiUrl}\n`,
            );
          if (cp.credentialsWritten !== undefined)
            process.stdout.write(
              `Admin credentials written to ${cp.credentialsWritten} (mode 0600); the CLI reads them from there. Keep them safe.\n`,
            );
          if (f.demo) {
            const url = await seedDemo(cp, home);
            const row = Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? 0.5 : -0.25));
            const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: row }] });
            process.stdout.write(
              `Demo: model readmission 1.0.0 is deploying to development with 2 replicas. Call it:\n  curl -s ${url} -H 'content-type: application/json' -d '${body}'\n`,
            );
          }
          process.stdout.write('Press Ctrl-C to stop.\n');
        },
      ),
    );

  program
    .command('gateway')
    .description("Run an inference gateway that follows a control plane's route table")
    .requiredOption('--control-plane <url>', 'the control plane API, e.g. http://127.0.0.1:8080')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port', integer(0, 65535), 8000)
    .option('--debug-headers', 'name the replica that answered in an x-wharf-backend response header')
    .option('--domain <domain>', 'serve application A of environment E at A.E.<domain> too', domainName, 'localhost')
    .option(
      '--max-connections <n>',
      'most client connections open at once; beyond, a new one is answered 503 (default 10000)',
      integer(1, 1_000_000),
    )
    .option(
      '--admin-port <port>',
      'also listen on 127.0.0.1 at this port for the supervising control plane (request assignments, ejection events); 0 picks a free one',
      integer(0, 65535),
    )
    .option(
      '--token-file <file>',
      'a credentials file (JSON with a token) whose token the gateway sends to the control plane; default: WHARF_TOKEN',
    )
    .option(
      '--state-dir <dir>',
      'record this gateway here (gateway.json: pid and URLs, for `wharf up` to adopt it) and its last route table (routes.json, served at start until the control plane answers)',
    )
    .action(
      action(
        async (f: {
          controlPlane: string;
          host: string;
          port: number;
          adminPort?: number;
          stateDir?: string;
          debugHeaders?: boolean;
          domain: string;
          maxConnections?: number;
          tokenFile?: string;
        }) => {
          // Loaded here, like the control plane in `up`: each command carries only its own process.
          const { startStandaloneGateway } = await import('../server/standalone-gateway.js');
          const token = f.tokenFile === undefined ? process.env.WHARF_TOKEN : gatewayTokenOf(f.tokenFile);
          const gateway = await startStandaloneGateway({
            controlPlane: f.controlPlane,
            host: f.host,
            port: f.port,
            adminPort: f.adminPort,
            stateDir: f.stateDir,
            debugHeaders: f.debugHeaders,
            domain: f.domain,
            maxConnections: f.maxConnections,
            token,
            log: (line) => void process.stderr.write(`wharf gateway: ${line}\n`),
          });
          onSignals(() => gateway.stop());
          process.stdout.write(`wharf gateway: listening at ${gateway.url}, following ${f.controlPlane}\n`);
        },
      ),
    );
}

/** `--tls auto` or `--tls-cert` with `--tls-key`; none for plain HTTP. Errors name the flag. */
function tlsOption(f: {
  tls?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}): 'auto' | { certFile: string; keyFile: string; caFile?: string } | undefined {
  if (f.tls !== undefined && f.tls !== 'auto') throw usageError(`--tls: must be auto, got ${JSON.stringify(f.tls)}`);
  if (f.tls === 'auto') {
    if (f.tlsCert !== undefined || f.tlsKey !== undefined)
      throw usageError('--tls auto: makes its own certificate; leave out --tls-cert and --tls-key');
    return 'auto';
  }
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined))
    throw usageError('--tls-cert and --tls-key: give both (the certificate and its private key)');
  if (f.tlsCert === undefined) {
    if (f.tlsCa !== undefined) throw usageError('--tls-ca: goes with --tls-cert and --tls-key');
    return undefined;
  }
  return {
    certFile: resolve(f.tlsCert),
    keyFile: resolve(f.tlsKey!),
    ...(f.tlsCa === undefined ? {} : { caFile: resolve(f.tlsCa) }),
  };
}
