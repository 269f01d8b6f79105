/**
 * Scale from zero for a standalone gateway (`wharf gateway`): when a route holds requests, tell
 * the control plane that the deployment has demand with
 * `POST {controlPlane}/api/v1/environments/{env}/deployments/{name}/activate`, so that it starts a
 * replica. Fire-and-forget with a short timeout: the gateway keeps holding requests regardless,
 * and `onHold` calls again every second while they wait, so a lost call is repeated. Failures
 * (unreachable, timeout, any non-2xx such as a 404 from a control plane without the endpoint) are
 * logged at most once per route per `logIntervalMs`.
 */
import { request } from 'undici';
import { type RateLimitedLog, rateLimitedLog } from '../core/rate-limited-log.js';

/** Settings of {@link ControlPlaneActivator}. */
export interface ActivatorOptions {
  /** The control plane API base, e.g. http://127.0.0.1:8080 */
  readonly controlPlane: string;
  /** Time for the whole call (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Where failures are reported (rate-limited). */
  readonly log: (line: string) => void;
  /** Least time between two failure lines for one route (default 30 s). */
  readonly logIntervalMs?: number;
  /** Milliseconds clock for the rate limit; `Date.now` by default. */
  readonly clock?: () => number;
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Calls the control plane's activate endpoint for routes with held requests. */
export class ControlPlaneActivator {
  private readonly base: string;
  private readonly report: RateLimitedLog;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: ActivatorOptions) {
    this.base = options.controlPlane.replace(/\/+$/, '');
    this.report = rateLimitedLog(options.log, options.logIntervalMs ?? 30_000, options.clock);
  }

  /** The URL called for a route. */
  activateUrl(environment: string, deployment: string): string {
    return `${this.base}/api/v1/environments/${encodeURIComponent(environment)}/deployments/${encodeURIComponent(deployment)}/activate`;
  }

  /**
   * Starts the call and returns at once (usable as `GatewayServerOptions.onHold`).
   *
   * @example
   *   const activator = new ControlPlaneActivator({ controlPlane, log });
   *   new GatewayServer({ onHold: (env, name) => activator.activate(env, name) });
   */
  activate(environment: string, deployment: string): void {
    const call = this.call(environment, deployment);
    this.pending.add(call);
    void call.finally(() => this.pending.delete(call));
  }

  /** Resolves once every call started so far has settled (for a clean stop and for tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async call(environment: string, deployment: string): Promise<void> {
    const url = this.activateUrl(environment, deployment);
    const timeoutMs = this.options.timeoutMs ?? 2_000;
    try {
      const res = await request(url, {
        method: 'POST',
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        headers: { ...this.options.headers, 'content-type': 'application/json' },
        body: '{}',
      });
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return;
      this.reportFailure(environment, deployment, `POST ${url} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    } catch (error) {
      const e = error as Error & { code?: string };
      const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message);
      this.reportFailure(environment, deployment, `POST ${url} failed: ${why}`);
    }
  }

  private reportFailure(environment: string, deployment: string, line: string): void {
    this.report(
      `${environment}\0${deployment}`,
      `scale from zero: could not activate deployment '${deployment}' in environment '${environment}': ${line}`,
    );
  }
}
