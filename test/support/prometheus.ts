/**
 * A real Prometheus server for one test file: Debian's `prometheus` binary (installed through
 * scripts/ensure-debian-packages.sh when missing) on a free loopback port, with a temporary config
 * that scrapes the given targets and a temporary TSDB. When the binary cannot be had, the caller
 * gets `{ skip }` with the reason, except under CI (env CI set), where that is a failure: CI must
 * run the Prometheus tests.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.js';
import { freePort } from './ports.js';
import { eventually } from './eventually.js';

/** A running Prometheus. */
export interface TestPrometheus {
  readonly url: string;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its files. */
  stop(): Promise<void>;
}

function hasPrometheus(): boolean {
  return spawnSync('prometheus', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Why Prometheus is unavailable, or undefined once it is on PATH (installing it if needed). */
function ensurePrometheus(): string | undefined {
  if (hasPrometheus()) return undefined;
  const ensure = spawnSync('bash', [join(REPO_ROOT, 'scripts/ensure-debian-packages.sh'), 'prometheus'], {
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  if (ensure.status !== 0) {
    return `prometheus is not on PATH and installing Debian's prometheus package failed: ${(ensure.stderr || String(ensure.error ?? '')).trim().slice(-400)}`;
  }
  return hasPrometheus() ? undefined : "Debian's prometheus package is installed but `prometheus` is not on PATH";
}

/**
 * Starts Prometheus scraping `targets` (host:port) every `scrapeInterval` (a Prometheus duration,
 * e.g. `200ms`) and resolves once it reports ready.
 */
export async function startPrometheus(
  targets: readonly string[],
  scrapeInterval: string,
): Promise<TestPrometheus | { skip: string }> {
  const missing = ensurePrometheus();
  if (missing !== undefined) {
    if (process.env.CI) throw new Error(`${missing}. CI must run the Prometheus tests.`);
    return { skip: missing };
  }
  const dir = await mkdtemp(join(tmpdir(), 'wharf-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      `  scrape_interval: ${scrapeInterval}`,
      `  scrape_timeout: ${scrapeInterval}`,
      'scrape_configs:',
      '  - job_name: gateway',
      '    static_configs:',
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: () => `prometheus did not become ready: ${stderr}` },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
