/**
 * The pull tokens of model pods' artifact downloads, one per namespace: each lives in the
 * namespace's Secret `wharf-pull-token` (`manifests/pull-token-secret.ts`), which the init
 * container reads through `secretKeyRef` (never the manifest text). A namespace gets its token the
 * first time a workload is applied there; a timer replaces every token well before it expires, so a
 * pod that restarts a day later still downloads. The tokens themselves are minted by the caller's
 * {@link PullTokenSource} (the control plane's token store: the runtime imports no services).
 */
import { PULL_TOKEN_SECRET, renderPullTokenSecret } from '../manifests/pull-token-secret.js';
import type { KubeObject } from '../manifests/render.js';
import type { KubeClient } from './kube-client.js';
import type { PullTokenSource } from './kubernetes-options.js';

/** A token is replaced once it has less than this left (pods started meanwhile still get a valid one). */
export const PULL_TOKEN_RENEW_BEFORE_MS = 6 * 3_600_000;
/** How often the tokens are checked for renewal. */
const RENEW_CHECK_MS = 15 * 60_000;

/** Keeps each namespace's pull-token Secret current. */
export class PullTokens {
  /** When each namespace's current token expires. */
  private readonly expiries = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly source: PullTokenSource,
    private readonly owner: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The Secret's name, for the pod template. */
  readonly secretName = PULL_TOKEN_SECRET;

  /** Makes sure `namespace` has a token valid for a while yet; concurrent calls share one mint. */
  ensure(namespace: string): Promise<void> {
    const expiry = this.expiries.get(namespace);
    if (expiry !== undefined && expiry - this.now() > PULL_TOKEN_RENEW_BEFORE_MS) return Promise.resolve();
    let running = this.inFlight.get(namespace);
    if (running === undefined) {
      running = this.renew(namespace).finally(() => this.inFlight.delete(namespace));
      this.inFlight.set(namespace, running);
    }
    this.startTimer();
    return running;
  }

  /** Stops renewing (the Secrets stay: running pods may restart and need them). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renew(namespace: string): Promise<void> {
    const { token, expiresAt } = await this.source(namespace);
    await this.client.apply(
      renderPullTokenSecret(namespace, token, expiresAt, { name: this.secretName, owner: this.owner }) as KubeObject,
    );
    this.expiries.set(namespace, expiresAt.getTime());
  }

  private startTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      for (const namespace of this.expiries.keys()) void this.ensure(namespace).catch(() => undefined);
    }, RENEW_CHECK_MS);
    this.timer.unref();
  }
}
