/**
 * Leader election for several control-plane replicas on one PostgreSQL database: controllers run
 * on one replica at a time, every replica serves the API.
 *
 * The lock is a PostgreSQL session-level advisory lock held by a dedicated connection (not one of
 * the pool's). PostgreSQL releases it the moment that session ends — the leader stopped, crashed,
 * was `kill -9`ed (its socket closes), or its connection broke — so a standby that retries every
 * `retryIntervalMs` takes over within about that long. The leader checks its own session every
 * `heartbeatMs` and steps down (stops its controllers) as soon as the session is gone, so two
 * leaders overlap for at most a heartbeat after a network failure; controllers are level-based
 * and every store write is guarded by its resourceVersion, so such an overlap costs retries, not
 * wrong state. On SQLite there is a single process: it is always the leader.
 *
 * @example
 *   const leadership = leaderElection({ databaseUrl, log }, () => createDeploymentController(...));
 *   await leadership.start();   // resolves at once; controllers start when this replica leads
 *   await leadership.stop();    // stops the controllers and releases the lock
 */
import pg from 'pg';

/** What runs only on the leader: made fresh on every election (a stopped controller is not restarted). */
export interface LeaderTask {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Leadership of one replica. */
export interface Leadership {
  readonly isLeader: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link leaderElection}. */
export interface LeaderElectionOptions {
  /** postgres://… to elect among replicas; absent or empty: SQLite, always the leader. */
  readonly databaseUrl?: string;
  /** The advisory lock key; replicas of one installation share it. */
  readonly lockKey?: number;
  readonly retryIntervalMs?: number;
  readonly heartbeatMs?: number;
  readonly log?: (line: string) => void;
}

/** The defaults. */
export const LEADER_ELECTION_DEFAULTS = {
  // 'wharf' in ASCII: an arbitrary constant that other applications are unlikely to use.
  lockKey: 0x7768_6172,
  retryIntervalMs: 1_000,
  heartbeatMs: 1_000,
} as const;

/** The leadership for `options.databaseUrl`, running `makeTask()` while this replica leads. */
export function leaderElection(options: LeaderElectionOptions, makeTask: () => LeaderTask): Leadership {
  return options.databaseUrl ? new PostgresLeadership(options, makeTask) : new SingleProcessLeadership(makeTask);
}

/** The only process on its database (SQLite): the leader from start to stop. */
export class SingleProcessLeadership implements Leadership {
  private task: LeaderTask | undefined;
  constructor(private readonly makeTask: () => LeaderTask) {}
  get isLeader(): boolean {
    return this.task !== undefined;
  }
  async start(): Promise<void> {
    this.task = this.makeTask();
    await this.task.start();
  }
  async stop(): Promise<void> {
    await this.task?.stop();
    this.task = undefined;
  }
}

/** See the module comment. */
export class PostgresLeadership implements Leadership {
  private readonly o: Required<Omit<LeaderElectionOptions, 'databaseUrl' | 'log'>> & {
    url: string;
    log: (line: string) => void;
  };
  private client: pg.Client | undefined;
  private task: LeaderTask | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** One transition at a time: elect, depose and stop never interleave. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    options: LeaderElectionOptions,
    private readonly makeTask: () => LeaderTask,
  ) {
    this.o = {
      url: options.databaseUrl!,
      lockKey: options.lockKey ?? LEADER_ELECTION_DEFAULTS.lockKey,
      retryIntervalMs: options.retryIntervalMs ?? LEADER_ELECTION_DEFAULTS.retryIntervalMs,
      heartbeatMs: options.heartbeatMs ?? LEADER_ELECTION_DEFAULTS.heartbeatMs,
      log: options.log ?? (() => undefined),
    };
  }

  get isLeader(): boolean {
    return this.task !== undefined;
  }

  /** Makes the first attempt, then keeps trying (or checking, once leader) in the background. */
  async start(): Promise<void> {
    await this.serial(() => this.tick());
    if (!this.isLeader) this.o.log('leader election: standing by (another replica leads; this one serves the API)');
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.serial(async () => {
      await this.depose('stopping');
      // Ending the session releases the lock at once, so a standby takes over without waiting.
      await this.client?.end().catch(() => undefined);
      this.client = undefined;
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        void this.serial(() => this.tick()).finally(() => this.schedule());
      },
      this.isLeader ? this.o.heartbeatMs : this.o.retryIntervalMs,
    );
  }

  /** Leader: is the session still alive? Standby: can we take the lock? */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    let locked: boolean;
    try {
      const client = await this.connection();
      if (this.isLeader) {
        await client.query('select 1');
        return;
      }
      locked =
        (await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [this.o.lockKey])).rows[0]
          ?.locked === true;
    } catch (err) {
      this.o.log(`leader election: database session lost (${(err as Error).message})`);
      this.client?.end().catch(() => undefined);
      this.client = undefined;
      await this.depose('lost the database session');
      return;
    }
    if (locked) {
      await this.elect().catch((err: unknown) =>
        this.o.log(`leader election: controllers failed to start, lock released: ${(err as Error).message}`),
      );
    }
  }

  private async elect(): Promise<void> {
    const task = this.makeTask();
    try {
      await task.start();
    } catch (err) {
      // Do not hold the lock without running the controllers: let another replica try.
      await task.stop().catch(() => undefined);
      await this.client?.query('select pg_advisory_unlock($1)', [this.o.lockKey]).catch(() => undefined);
      throw err;
    }
    this.task = task;
    this.o.log('leader election: this replica is now the leader; controllers started');
  }

  private async depose(why: string): Promise<void> {
    const task = this.task;
    if (!task) return;
    this.task = undefined;
    await task
      .stop()
      .catch((err: unknown) => this.o.log(`leader election: stopping controllers: ${(err as Error).message}`));
    this.o.log(`leader election: no longer the leader (${why}); controllers stopped`);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.o.url,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
    });
    // A broken connection emits 'error'; the next tick notices through the failed query.
    client.on('error', () => undefined);
    await client.connect();
    this.client = client;
    return client;
  }

  private serial(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step, step);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
