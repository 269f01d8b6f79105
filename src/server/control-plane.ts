/**
 * The one place that chooses implementations and wires them together: store (SQLite, or PostgreSQL
 * when a URL is given), registry (blobs under the home folder), local runtime, deployment
 * controller, route publisher, gateway (a supervised process of its own, gateway-process.ts) and API (api-server.ts). `wharf up` calls {@link startControlPlane}.
 */
import { DEFAULT_ROUTE_DOMAIN } from '../protocol/route-table.js';
import { autoTls, expiryWarning, loadTls, type TlsMaterial } from './tls.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { rateLimitedLog } from '../core/rate-limited-log.js';
import type { ConnectionLimits } from '../core/http-server-limits.js';
import { createAutoscalerController } from '../controller/autoscaler-controller.js';
import { EjectionRecorder } from '../controller/reconcilers/ejection-recorder.js';
import { AnalysisDriver } from '../controller/reconcilers/analysis-driver.js';
import { BuiltinMetricsSource } from '../metrics/builtin-source.js';
import { scrapeGatewaySnapshot } from '../metrics/gateway-scrape.js';
import { PrometheusMetricsSource } from '../metrics/prometheus-source.js';
import { createDeploymentController } from '../controller/deployment-controller.js';
import { DeploymentService } from '../services/deployment-service.js';
import { RoutePublisher } from '../controller/reconcilers/route-publisher.js';
import { FailoverEvents } from '../controller/reconcilers/failover-events.js';
import { PREVIEW_SUFFIX } from '../controller/reconcilers/route-compiler.js';
import { routeBasePath } from '../protocol/route-table.js';
import { GatewayAdminClient } from '../gateway/admin-client.js';
import { LOCAL_DEFAULTS } from '../runtime/local/local-options.js';
import { type ApiRoute, createApiServer, listen, loopbackUrl, urlOf } from './api-server.js';
import { GatewayProcess } from './gateway-process.js';
import { openBlobStore } from './blob-store-selection.js';
import { ModelRegistry } from '../registry/model-registry.js';
import { BundleRegistry } from '../registry/bundle-registry.js';
import { DigestLeases } from '../registry/digest-leases.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { ensureEnvironments } from './environments.js';
import { openAuditTrail } from './audit-trail.js';
import { type AuthMode, Authenticator } from '../services/identity/authenticator.js';
import { bootstrapAdminToken, componentToken } from '../services/identity/bootstrap.js';
import { ensureBootstrapAdminBinding } from '../services/access/bootstrap-admin.js';
import { Tokens } from '../services/identity/tokens.js';
import { type IdentityServices, identityServices } from '../services/identity/identity-services.js';
import { Authorizer } from '../services/access/authorizer.js';
import type { OidcSettings } from '../core/identity/oidc-settings.js';
import { OidcVerifier } from '../services/identity/oidc.js';
import { loadKeyRing } from '../services/secrets/key-ring.js';
import { Secrets } from '../services/secrets/secrets-service.js';
import { mintPullToken } from '../services/secrets/pull-token.js';
import { credentialsPath, readCredentials, writeCredentials } from './credentials-file.js';
import { withAutoscaler, withPromQL } from './controller-assembly.js';
import { QueueDepths } from '../metrics/queue-depth/queue-depths.js';
import { type Leadership, leaderElection } from './leader-election.js';
import { type RuntimeSettings, selectRuntime } from './runtime-selection.js';
import { jobParts, withJobs } from './job-assembly.js';

/** Settings of `wharf up`. */
export interface ControlPlaneOptions {
  home: string;
  host: string;
  port: number;
  gatewayPort: number;
  /** postgres://… to use PostgreSQL; SQLite under `home` otherwise. */
  databaseUrl?: string;
  /** The audit checkpoints' Ed25519 signing key (`WHARF_AUDIT_KEY_FILE`); default `<home>/audit-signing.key`. */
  auditKeyFile?: string;
  /** A Prometheus server answering the PromQL of analysis templates. */
  prometheusUrl?: string;
  /**
   * `s3://bucket/prefix`: the registry's blobs live in S3-compatible storage (endpoint and
   * credentials from the usual AWS variables), shared by every control plane that names it;
   * default: files under `<home>/blobs`.
   */
  blobStore?: string;
  /** Standalone gateways whose /metrics add to the built-in metrics (the gateway of `wharf up` always counts). */
  gatewayUrls?: readonly string[];
  /** Leftovers of crashed pushes younger than this are kept at a sweep (default {@link BLOB_SWEEP_GRACE_MS}). */
  blobSweepGraceMs?: number;
  /** Bounds on the API's client connections; unset ones take {@link API_CONNECTION_DEFAULTS}. */
  apiConnections?: Partial<ConnectionLimits>;
  /** The gateway adds `x-wharf-backend` (the replica that answered) to responses; off by default. */
  gatewayDebugHeaders?: boolean;
  /** Applications are also served at `<name>.<environment>.<domain>` (`wharf up --domain`; default `localhost`). */
  gatewayDomain?: string;
  /** How long a workload leaving traffic stays up before it is removed (default 2 s). */
  drainMs?: number;
  /** The `wharf` launcher the gateway process runs (default: this checkout's bin/wharf.js). */
  wharfBin?: string;
  /** Engines: local always; kubernetes when configured (see `runtime-selection.ts`). */
  runtime?: RuntimeSettings;
  /** Largest application bundle a push accepts, in bytes (default 256 MiB, `DEFAULT_MAX_BUNDLE_BYTES`). */
  maxBundleBytes?: number;
  /** Largest JSON request body the API reads, in bytes (default 1 MiB); a model push has the registry's own cap. */
  maxJsonBodyBytes?: number;
  /**
   * TEST ONLY (`wharf up --enable-test-faults`): model-version labels `wharf.dev/test-fault-*`
   * inject errors and latency into replicas (`workloads/onnx-model/test-faults.ts`). Off by
   * default: then they are inert labels. Logged at start.
   */
  testFaults?: boolean;
  /** TEST ONLY: arguments appended to every batch worker's command line (e.g. `--inject-latency-ms`). */
  jobWorkerArgs?: readonly string[];
  /**
   * `token` (default): every API call but health needs a credential; the first start writes the
   * admin token to `$WHARF_HOME/credentials`. `none`: every caller is an admin (loopback only; the
   * CLI refuses it elsewhere).
   */
  auth?: AuthMode;
  /** Also accept bearer JWTs of this OpenID Connect issuer (`wharf up --oidc-issuer … --oidc-audience …`). */
  oidc?: OidcSettings;
  /**
   * HTTPS for the API: `auto` makes a local CA and certificate under `$WHARF_HOME/tls/`
   * (`tls.ts`), or the given PEM files. Default: plain HTTP.
   */
  tls?: 'auto' | { certFile: string; keyFile: string; caFile?: string };
  log: (line: string) => void;
}

/**
 * Temp files and unreferenced blobs last written this long ago are crash leftovers: a push in
 * progress (here or in another process on the same blob root) writes its temp file continuously and
 * records its version within moments of its upload's end.
 */
export const BLOB_SWEEP_GRACE_MS = 5 * 60_000;
/** How often the blob store is swept after the sweep at start. */
const BLOB_SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * The API's client connections: headers within 10 s, a whole request within node's usual 300 s
 * (model pushes stream up to 1 GiB), keep-alive idle for 5 s, at most 1024 open.
 */
export const API_CONNECTION_DEFAULTS: Readonly<ConnectionLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
};

/** A running control plane. */
export interface ControlPlane {
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly store: Store;
  readonly registry: ModelRegistry;
  readonly deployments: DeploymentService;
  /** Whether this replica runs the controllers (always, on SQLite; one replica at a time on PostgreSQL). */
  readonly leadership: Leadership;
  /** The admin token in `$WHARF_HOME/credentials`, when that file holds one that authenticates. */
  readonly adminToken?: string;
  /** The credentials file this start wrote (first start only). */
  readonly credentialsWritten?: string;
  /** API tokens (mint, resolve, revoke). */
  readonly tokens: Tokens;
  /** Every route the API serves (method and path as registered). */
  readonly apiRoutes: readonly ApiRoute[];
  /** Users, service accounts, token management, login and the principal directory. */
  readonly identity: IdentityServices;
  /** With TLS: the CA file clients trust and when the certificate ends. */
  readonly tls?: { readonly caFile: string; readonly certFile: string; readonly expiresAt: Date };
  /** Stops everything, replicas included, in reverse order of start. */
  stop(): Promise<void>;
}

/** What the log says at start when {@link ControlPlaneOptions.testFaults} is on. */
export const TEST_FAULTS_WARNING =
  'test faults enabled: model-version labels wharf.dev/test-fault-* make replicas fail or slow down on purpose; for tests and benchmarks, never in production';

/** What the log says at start with `auth: 'none'`. */
export const AUTH_NONE_WARNING =
  'auth none: every caller acts as an admin with no credential; for throwaway local use on this machine only';

/**
 * The credentials of this start: the admin token (minted and written to `$WHARF_HOME/credentials`
 * on the first start against this store, read back from there later) and the gateway's token in
 * `gateway/credentials`. None with auth off.
 */
async function ensureCredentials(
  tokens: Tokens,
  mode: AuthMode,
  home: string,
): Promise<{ adminToken?: string; written?: string; gatewayTokenFile?: string }> {
  if (mode === 'none') return {};
  const adminFile = credentialsPath(home);
  let written: string | undefined;
  const minted = await bootstrapAdminToken(tokens);
  if (minted !== undefined) {
    writeCredentials(adminFile, { user: 'admin', token: minted });
    written = adminFile;
  }
  const onFile = readCredentials(adminFile)?.token;
  const adminToken =
    onFile === undefined
      ? undefined
      : await tokens.resolve(onFile).then(
          () => onFile,
          () => undefined,
        );
  const gatewayTokenFile = credentialsPath(join(home, 'gateway'));
  await mkdir(join(home, 'gateway'), { recursive: true });
  const gateway = await componentToken(
    tokens,
    GATEWAY_PRINCIPAL_ID,
    GATEWAY_SCOPES,
    readCredentials(gatewayTokenFile)?.token,
  );
  if (gateway.minted !== undefined) writeCredentials(gatewayTokenFile, { user: 'gateway', token: gateway.token });
  return { adminToken, written, gatewayTokenFile };
}

/** The gateway process acts as this principal when it follows the route table and activates deployments. */
export const GATEWAY_PRINCIPAL_ID = 'system:gateway';
const GATEWAY_SCOPES = ['routes:read', 'deployments:scale'];

/** How often a certificate near its end is warned about again, while the control plane runs. */
const TLS_WARNING_INTERVAL_MS = 12 * 3_600_000;

/** The TLS material {@link ControlPlaneOptions.tls} asks for; none for plain HTTP. */
async function resolveTls(options: ControlPlaneOptions): Promise<TlsMaterial | undefined> {
  if (options.tls === undefined) return undefined;
  if (options.tls === 'auto') return autoTls(options.home);
  return loadTls(options.tls.certFile, options.tls.keyFile, options.tls.caFile);
}

/** Starts every part; on a failure part-way, stops what already started and rethrows. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse())
      await stop().catch((e: unknown) => options.log(`stop: ${(e as Error).message}`));
  };
  try {
    if (options.testFaults === true) options.log(TEST_FAULTS_WARNING);
    await mkdir(options.home, { recursive: true });
    const store = await openStore({ url: options.databaseUrl, home: options.home });
    stops.push(() => store.close());
    await ensureEnvironments(store);
    const audit = await openAuditTrail(store, options);
    stops.push(() => audit.recorder.close());
    // The admin `wharf up` makes is an admin everywhere: its binding, made once (idempotent).
    await ensureBootstrapAdminBinding(store);
    const authMode = options.auth ?? 'token';
    if (authMode === 'none') options.log(AUTH_NONE_WARNING);
    const tokens = new Tokens(store);
    // What each caller may do: the API's authorization and the identity services' own checks.
    const authorizer = new Authorizer(store);
    const identity = identityServices(store, tokens, authorizer);
    // The admin of the bootstrap token has a user record (no password; set one to log in as admin).
    await identity.users.ensureBootstrapAdmin();
    const credentials = await ensureCredentials(tokens, authMode, options.home);
    const oidc = options.oidc === undefined ? undefined : new OidcVerifier(options.oidc);
    if (oidc !== undefined)
      options.log(`oidc: accepting bearer JWTs of ${oidc.settings.issuer} for ${oidc.settings.audience}`);
    // Secrets: the key-encryption key from WHARF_SECRET_KEY or $WHARF_HOME/secret.key (made now, 0600).
    const secrets = new Secrets(store, loadKeyRing(options.home));
    const resolveSecret = async (environment: string, secret: string, key: string, version?: number) =>
      (await secrets.resolve(environment, [{ name: secret, key, ...(version === undefined ? {} : { version }) }])).get(
        `${secret}/${key}`,
      )!;

    const blobStore = await openBlobStore(options);
    const { blobs, artifactPath } = blobStore;
    stops.push(async () => blobStore.close());
    await blobStore.check();
    if (!blobs.local) options.log(`registry: blobs in ${options.blobStore}`);
    // One lease table for both registries on the blob store: a failed push of either never deletes a blob the other just stored.
    const leases = new DigestLeases();
    const registry = new ModelRegistry(store, blobs, { acceptTestFaultLabels: options.testFaults === true, leases });
    const bundles = new BundleRegistry(store, blobs, leases, {
      ...(options.maxBundleBytes === undefined ? {} : { maxBundleBytes: options.maxBundleBytes }),
    });
    // A crash during a push leaves temp files and an unreferenced blob: sweep them at start, and
    // again now and then for those too recent at start to be told from a push in progress.
    const graceMs = options.blobSweepGraceMs ?? BLOB_SWEEP_GRACE_MS;
    const sweep = (): Promise<void> =>
      registry.sweepLeftovers({ olderThanMs: graceMs }).then(
        ({ tempFiles, blobs: removed }) => {
          if (tempFiles + removed > 0)
            options.log(`registry: removed ${tempFiles} unfinished upload(s) and ${removed} unreferenced blob(s)`);
        },
        (e: unknown) => options.log(`registry: sweeping leftovers: ${(e as Error).message}`),
      );
    await sweep();
    const sweeper = setInterval(() => void sweep(), Math.max(graceMs, BLOB_SWEEP_INTERVAL_MS));
    sweeper.unref();
    stops.push(async () => clearInterval(sweeper));
    const {
      runtime,
      start: startRuntime,
      onRoutes,
    } = selectRuntime(options.runtime ?? {}, options.home, store, options.log, {
      resolveSecret,
      readSecretVersion: (environment, secret, version) => secrets.readVersion(environment, secret, version),
      // Model pods download artifacts with a scoped, expiring token kept in a Kubernetes Secret.
      ...(authMode === 'token' ? { pullToken: (namespace: string) => mintPullToken(tokens, namespace) } : {}),
    });
    await startRuntime();
    stops.push(() => runtime.close());

    // Set once the controllers run (this replica leads): held requests wake the autoscaler.
    let activate: ((environment: string, name: string) => Promise<boolean>) | undefined;

    const routes = new RoutePublisher({
      store,
      runtime,
      onError: (e) => options.log(`routes: ${(e as Error).message}`),
    });
    if (onRoutes) routes.subscribe((table) => onRoutes(table.routes));
    // Deployment events when a production deployment's traffic moves to `dr` and back.
    const failoverEvents = new FailoverEvents(store, (e) => options.log(`failover events: ${(e as Error).message}`));
    // Written by the leader only (set below), so replicas on PostgreSQL do not each record a switch.
    let leads: () => boolean = () => false;
    routes.subscribe((table) => {
      if (leads()) failoverEvents.observe(table);
    });
    await routes.start();
    stops.push(() => routes.stop());

    // The gateway runs as a process of its own (see gateway-process.ts); the API asks its admin
    // listener which revision served a request (A/B feedback) and what it ejected.
    const started: { gateway?: GatewayProcess } = {};
    const gatewayAdmin = new GatewayAdminClient(() => started.gateway?.adminUrl, {
      ejectionsReadFile: join(options.home, 'gateway', 'ejections-read.json'),
    });
    const tls = await resolveTls(options);
    if (tls !== undefined) {
      options.log(`tls: the API serves HTTPS with ${tls.certFile}; clients trust ${tls.caFile} (WHARF_CA_FILE)`);
      const warn = (): void => {
        const warning = expiryWarning(tls);
        if (warning !== undefined) options.log(warning);
      };
      warn();
      const warner = setInterval(warn, TLS_WARNING_INTERVAL_MS);
      warner.unref();
      stops.push(async () => clearInterval(warner));
    }
    const deployments = new DeploymentService(store);
    // Batch jobs: worker processes under <home>/jobs; stopped with the control plane (they resume).
    const jobs = jobParts({
      home: options.home,
      store,
      wharfBin: options.wharfBin ?? LOCAL_DEFAULTS.wharfBin,
      artifactPath,
      log: options.log,
      ...(options.jobWorkerArgs === undefined ? {} : { workerArgs: options.jobWorkerArgs }),
    });
    stops.push(() => jobs.batch.close());
    const activateLeader = (environment: string, name: string): Promise<boolean> =>
      activate?.(environment, name) ?? Promise.resolve(false);
    const apiServer = createApiServer(
      store,
      registry,
      deployments,
      runtime,
      routes,
      gatewayAdmin,
      activateLeader,
      { ...API_CONNECTION_DEFAULTS, ...options.apiConnections },
      options.maxJsonBodyBytes,
      new Authenticator(authMode, tokens, { users: identity.users, ...(oidc === undefined ? {} : { oidc }) }),
      identity,
      authorizer,
      secrets,
      bundles,
      audit,
      tls,
      jobs.service,
    );
    const api = await listen(apiServer, options.host, options.port);
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          api.close(() => resolve());
          api.closeAllConnections();
        }),
    );
    const apiUrl = urlOf(api);

    // It follows the route watch stream and calls POST …/activate for held requests (scale from zero).
    const gateway = await GatewayProcess.start({
      stateDir: join(options.home, 'gateway'),
      host: options.host,
      port: options.gatewayPort,
      controlPlane: loopbackUrl(apiUrl),
      wharfBin: options.wharfBin ?? LOCAL_DEFAULTS.wharfBin,
      log: options.log,
      debugHeaders: options.gatewayDebugHeaders ?? false,
      domain: options.gatewayDomain ?? DEFAULT_ROUTE_DOMAIN,
      tokenFile: credentials.gatewayTokenFile ?? '',
      caFile: tls?.caFile ?? '',
    });
    started.gateway = gateway;
    stops.push(() => gateway.stop());
    const gatewayUrl = gateway.url;

    // Built-in metrics: what the gateway (and any listed standalone ones) counted, scraped from
    // their /metrics four times a second, so analyses decide on data that is at most a quarter
    // second old.
    const providers = [gatewayUrl, ...(options.gatewayUrls ?? [])].map((url) => () => scrapeGatewaySnapshot(url));
    // A gateway that is down (restarting, say) fails every poll: one line per source per 30 s.
    const pollFailure = rateLimitedLog(options.log, 30_000);
    const builtin = new BuiltinMetricsSource({
      providers,
      onError: (e, i) => pollFailure(`metrics ${i}`, `metrics: gateway ${i}: ${e.message}`),
    });
    builtin.start();
    stops.push(() => Promise.resolve(builtin.stop()));
    const metricsSource =
      options.prometheusUrl === undefined
        ? builtin
        : withPromQL(builtin, new PrometheusMetricsSource({ url: options.prometheusUrl }));

    const ejections = new EjectionRecorder({
      store,
      ejectionsSince: (seq) => gatewayAdmin.ejectionsSince(seq),
      onError: (e) => pollFailure('ejections', `ejections: ${(e as Error).message}`),
    });
    ejections.start();
    stops.push(() => ejections.stop());

    // Broker connections of the queue metric; closed after the leader's autoscaler has stopped.
    const queues = new QueueDepths();
    stops.push(() => queues.close());
    // Controllers run on the elected leader only; every replica serves the API and the gateway.
    const leadership = leaderElection({ databaseUrl: options.databaseUrl, log: options.log }, () =>
      withJobs(
        withAutoscaler(
          createDeploymentController({
            store,
            runtime,
            artifactPath,
            analysis: new AnalysisDriver(store, metricsSource),
            ...(options.drainMs === undefined ? {} : { drainMs: options.drainMs }),
            ...(options.testFaults === true ? { testFaults: true } : {}),
            endpointsOf: (d) => ({
              external: `${gatewayUrl}${routeBasePath(d.environment, d.name)}`,
              logs: `${apiUrl}/api/v1/environments/${d.environment}/deployments/${d.name}/logs`,
              monitoring: `${gatewayUrl}/metrics`,
              ...(d.status.rollout?.traffic.preview === undefined
                ? {}
                : { preview: `${gatewayUrl}${routeBasePath(d.environment, `${d.name}${PREVIEW_SUFFIX}`)}` }),
            }),
            onError: (key, e, retryInMs) =>
              options.log(
                `controller: ${key ?? '-'}: ${(e as Error).message}${retryInMs === undefined ? '' : ` (retry in ${retryInMs} ms)`}`,
              ),
          }),
          createAutoscalerController({
            store,
            metrics: metricsSource,
            runtime,
            queues,
            onError: (id, e) => options.log(`autoscaler: ${id ?? '-'}: ${(e as Error).message}`),
          }),
          (a) => {
            activate = a === undefined ? undefined : (environment, name) => a.activate(environment, name);
          },
        ),
        jobs,
      ),
    );
    leads = () => leadership.isLeader;
    await leadership.start();
    stops.push(() => leadership.stop());

    return {
      apiUrl,
      gatewayUrl,
      store,
      registry,
      deployments,
      leadership,
      tokens,
      apiRoutes: apiServer.apiRoutes,
      identity,
      ...(tls === undefined ? {} : { tls: { caFile: tls.caFile, certFile: tls.certFile, expiresAt: tls.expiresAt } }),
      ...(credentials.adminToken === undefined ? {} : { adminToken: credentials.adminToken }),
      ...(credentials.written === undefined ? {} : { credentialsWritten: credentials.written }),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
