/**
 * Open-loop load whose rate can be changed while it runs (load steps), keeping every answer with
 * its time, status and the replica that served it (`x-wharf-backend`). Runs in the benchmark's
 * process over one undici pool; the rate is what is sent, whether or not answers keep up.
 */
import { Pool } from 'undici';

/** One answer (or a socket error, status 0). */
export interface LoadSample {
  readonly sentAt: number;
  readonly at: number;
  readonly status: number;
  readonly backend: string;
}

/** A running load; {@link StepLoad.setRate} changes its rate at once. */
export interface StepLoad {
  readonly samples: LoadSample[];
  setRate(rate: number): void;
  stop(): Promise<void>;
}

/** Starts sending `body` to `path` at `rate` requests/s. */
export function stepLoad(baseUrl: string, path: string, body: string, rate: number, connections = 128): StepLoad {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  const samples: LoadSample[] = [];
  let current = rate;
  let stopped = false;
  let owed = 0;
  let last = performance.now();
  const send = (): void => {
    const sentAt = Date.now();
    pool.request({ path, method: 'POST', body, headers: { 'content-type': 'application/json' } }).then(
      async (res) => {
        await res.body.dump();
        samples.push({
          sentAt,
          at: Date.now(),
          status: res.statusCode,
          backend: String(res.headers['x-wharf-backend'] ?? ''),
        });
      },
      () => {
        samples.push({ sentAt, at: Date.now(), status: 0, backend: '' });
      },
    );
  };
  const timer = setInterval(() => {
    const now = performance.now();
    owed += (current * (now - last)) / 1000;
    last = now;
    for (; owed >= 1 && !stopped; owed--) send();
  }, 5);
  return {
    samples,
    setRate(rate: number) {
      current = rate;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await new Promise((r) => setTimeout(r, 1_000));
      await pool.close();
    },
  };
}
