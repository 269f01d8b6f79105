/**
 * The simulated cluster behind the test API server: a Deployment controller (pods per
 * Deployment, scale up and down, status with ready replicas and conditions, garbage collection of
 * a deleted Deployment's pods) and a kubelet that runs every pod's containers as local processes.
 *
 * What is real: the containers' own commands run (`wharf fetch-artifact` downloads the artifact
 * from the registry and verifies its digest; `wharf serve-model` serves it), each pod gets its own
 * loopback IP (127.77.x.y) so the pod's port is the container port, readiness is probed over HTTP
 * at the pod's IP, logs come from the processes, and a deleted pod goes through the preStop delay,
 * SIGTERM and, after its grace period, SIGKILL. What is simulated: no images or containers (the
 * `wharf` command maps to this checkout's bin/wharf.js, emptyDir volumes to temporary folders,
 * `0.0.0.0` to the pod IP), probes run every `probeIntervalMs` instead of `periodSeconds`, no
 * ReplicaSets, no scheduling, no resource limits. Liveness: only exec probes (a worker's health
 * command), run from the container's start (no startup probe holds them off); `failureThreshold`
 * failures in a row restart the container (SIGTERM, SIGKILL after the grace period). `$(VAR)` in
 * a command is expanded from the container's environment and `workingDir` is the process's cwd,
 * as Kubernetes does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type FakeKubeStore, type KObject, StatusError, type WatchEvent } from './fake-kube-store.js';

const PODS = '/v1/pods';
const DEPLOYMENTS = 'apps/v1/deployments';
const SECRETS = '/v1/secrets';

/** Settings of the simulation. */
export interface FakeKubeletOptions {
  /** Path of bin/wharf.js, run for containers whose command starts with `wharf`. */
  readonly wharfBin: string;
  /** Root of the pods' emptyDir folders. */
  readonly workDir: string;
  /** Every pod process gets `WHARF_WORKLOAD=<envTag>/<namespace>/<pod>` so tests can find strays in /proc. */
  readonly envTag: string;
  /** How often readiness is probed (default 100 ms). */
  readonly probeIntervalMs?: number;
}

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path?: string; port: number | string } };
  livenessProbe?: { exec?: { command?: string[] }; failureThreshold?: number };
  workingDir?: string;
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
}

interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; emptyDir?: object }[];
  terminationGracePeriodSeconds?: number;
}

/** A running pod: its processes, logs and state. */
interface PodRun {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly ip: string;
  readonly dir: string;
  readonly spec: PodSpec;
  process?: ChildProcess;
  readonly logs: Map<string, { time: string; text: string }[]>;
  readonly lines: EventEmitter;
  restarts: number;
  terminating: boolean;
  finished: Promise<void>;
  finish: () => void;
}

/** See the module comment. */
export class FakeKubelet {
  private readonly runs = new Map<string, PodRun>();
  private readonly pending = new Set<string>();
  private nextIp = 1;
  private stopped = false;
  private readonly listener = (e: WatchEvent): void => this.onEvent(e);

  constructor(
    private readonly store: FakeKubeStore,
    private readonly options: FakeKubeletOptions,
  ) {
    store.events.on('event', this.listener);
  }

  /** Uids of pods whose process is running. */
  runningPods(): string[] {
    return [...this.runs.values()]
      .filter((r) => r.process && r.process.exitCode === null && r.process.signalCode === null)
      .map((r) => r.uid);
  }

  /** Pids of running pod processes (for /proc checks). */
  pids(): number[] {
    return [...this.runs.values()].flatMap((r) =>
      r.process?.pid && r.process.exitCode === null ? [r.process.pid] : [],
    );
  }

  /** Starts graceful deletion of a pod; returns it as marked for deletion. */
  deletePod(namespace: string, name: string): KObject | undefined {
    const pod = this.store.get(PODS, namespace, name);
    if (!pod) return undefined;
    if (pod.metadata.deletionTimestamp) return pod;
    const marked = this.store.update(PODS, namespace, name, (p) => {
      p.metadata.deletionTimestamp = new Date().toISOString();
      setReady(p, false);
    });
    const run = this.runs.get(pod.metadata.uid!);
    if (!run) this.store.remove(PODS, namespace, name);
    else void this.terminate(run);
    return marked;
  }

  /** Deletes the pods owned by a removed object (the garbage collector's job). */
  collectOrphans(ownerUid: string): void {
    for (const pod of this.store.list(PODS, undefined)) {
      if (pod.metadata.ownerReferences?.some((o) => o.uid === ownerUid))
        this.deletePod(pod.metadata.namespace!, pod.metadata.name);
    }
  }

  /** `GET …/pods/NAME/log`: container, tailLines, timestamps, follow. */
  serveLogs(namespace: string, name: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): number {
    const pod = this.store.get(PODS, namespace, name);
    if (!pod) throw new StatusError(404, 'NotFound', `pods "${name}" not found`);
    const run = this.runs.get(pod.metadata.uid!);
    const container = q.get('container') ?? (pod.spec as PodSpec).containers[0]!.name;
    const lines = run?.logs.get(container);
    if (!run || !lines)
      throw new StatusError(
        400,
        'BadRequest',
        `container "${container}" in pod "${name}" is waiting to start: PodInitializing`,
      );
    const format = (l: { time: string; text: string }): string =>
      q.get('timestamps') === 'true' ? `${l.time} ${l.text}\n` : `${l.text}\n`;
    const tail = q.get('tailLines') === null ? undefined : Number(q.get('tailLines'));
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (const l of tail === undefined ? lines : lines.slice(Math.max(0, lines.length - tail))) res.write(format(l));
    if (q.get('follow') !== 'true') {
      res.end();
      return 200;
    }
    const onLine = (c: string, l: { time: string; text: string }): void => {
      if (c === container) res.write(format(l));
    };
    run.lines.on('line', onLine);
    void run.finished.then(() => res.end());
    req.on('close', () => run.lines.off('line', onLine));
    return 200;
  }

  /** Kills every pod process and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.store.events.off('event', this.listener);
    await Promise.all(
      [...this.runs.values()].map(async (run) => {
        run.terminating = true;
        const child = run.process;
        if (child && child.exitCode === null && child.signalCode === null) {
          const exit = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await exit;
        }
        rmSync(run.dir, { recursive: true, force: true });
        run.finish();
      }),
    );
    this.runs.clear();
  }

  private onEvent(e: WatchEvent): void {
    if (this.stopped) return;
    if (e.resource === DEPLOYMENTS && e.type !== 'DELETED')
      this.schedule(e.object.metadata.namespace!, e.object.metadata.name);
    if (e.resource === PODS) {
      const owner = e.object.metadata.ownerReferences?.find((o) => o.kind === 'Deployment');
      if (owner) this.schedule(e.object.metadata.namespace!, owner.name);
    }
  }

  /** Coalesces reconciles of one Deployment into one per tick. */
  private schedule(namespace: string, name: string): void {
    const id = `${namespace}/${name}`;
    if (this.pending.has(id)) return;
    this.pending.add(id);
    setImmediate(() => {
      this.pending.delete(id);
      if (!this.stopped) this.reconcile(namespace, name);
    });
  }

  private reconcile(namespace: string, name: string): void {
    const d = this.store.get(DEPLOYMENTS, namespace, name);
    if (!d) return;
    const spec = d.spec as {
      replicas?: number;
      template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
    };
    const hash = createHash('sha256').update(JSON.stringify(spec.template)).digest('hex').slice(0, 10);
    const owned = this.store
      .list(PODS, namespace)
      .filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === d.metadata.uid));
    const live = owned.filter((p) => !p.metadata.deletionTimestamp);
    for (const stale of live.filter((p) => p.metadata.labels?.['pod-template-hash'] !== hash))
      this.deletePod(namespace, stale.metadata.name);
    const current = live.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash);
    const desired = spec.replicas ?? 1;
    for (let i = current.length; i < desired; i++) this.createPod(d, hash, spec.template);
    if (current.length > desired) {
      // Like a ReplicaSet: not-ready pods go first, then the newest.
      const order = [...current].sort(
        (a, b) =>
          Number(isReady(a)) - Number(isReady(b)) ||
          (b.metadata.creationTimestamp! > a.metadata.creationTimestamp! ? 1 : -1),
      );
      for (const pod of order.slice(0, current.length - desired)) this.deletePod(namespace, pod.metadata.name);
    }
    const kept = Math.min(current.length, desired);
    const ready = current.filter(isReady).length;
    this.store.update(DEPLOYMENTS, namespace, name, (o) => {
      o.status = {
        observedGeneration: o.metadata.generation,
        replicas: Math.max(kept, Math.min(desired, current.length)),
        updatedReplicas: kept,
        readyReplicas: Math.min(ready, desired),
        availableReplicas: Math.min(ready, desired),
        conditions: [
          {
            type: 'Available',
            status: ready >= desired ? 'True' : 'False',
            reason: ready >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
            message: `${ready} of ${desired} ready`,
          },
          {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetAvailable',
            message: `pods of template ${hash}`,
          },
        ],
      };
    });
  }

  private createPod(
    d: KObject,
    hash: string,
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec },
  ): void {
    const name = `${d.metadata.name}-${hash}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const n = this.nextIp++;
    const ip = `127.77.${n >> 8}.${n & 255}`;
    const pod = this.store.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata?.labels, 'pod-template-hash': hash },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid!, controller: true },
        ],
      },
      spec: structuredClone(template.spec),
      status: {
        phase: 'Pending',
        podIP: ip,
        hostIP: '127.0.0.1',
        startTime: new Date().toISOString(),
        conditions: [{ type: 'PodScheduled', status: 'True' }],
      },
    });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const run: PodRun = {
      namespace: d.metadata.namespace!,
      name,
      uid: pod.metadata.uid!,
      ip,
      dir: join(this.options.workDir, pod.metadata.uid!),
      spec: template.spec,
      logs: new Map(),
      lines: new EventEmitter(),
      restarts: 0,
      terminating: false,
      finished,
      finish,
    };
    run.lines.setMaxListeners(0);
    this.runs.set(run.uid, run);
    void this.runPod(run).catch(() => undefined);
  }

  private async runPod(run: PodRun): Promise<void> {
    const volumes = new Map<string, string>();
    for (const v of run.spec.volumes ?? []) {
      const dir = join(run.dir, v.name);
      mkdirSync(dir, { recursive: true });
      volumes.set(v.name, dir);
    }
    for (const init of run.spec.initContainers ?? []) {
      for (;;) {
        if (run.terminating) return;
        const code = await this.runContainer(run, init, volumes);
        if (code === 0) break;
        this.patchPod(
          run,
          (p) =>
            ((p.status as Record<string, unknown>).initContainerStatuses = [
              {
                name: init.name,
                ready: false,
                restartCount: ++run.restarts,
                state: { waiting: { reason: 'CrashLoopBackOff', message: `init container exited with ${code}` } },
              },
            ]),
        );
        await delay(Math.min(5_000, 200 * 2 ** run.restarts));
      }
    }
    const main = run.spec.containers[0]!;
    let restarts = 0;
    while (!run.terminating && !this.stopped) {
      const started = new Date().toISOString();
      const exited = this.runContainer(run, main, volumes);
      this.patchPod(run, (p) => {
        const s = p.status as Record<string, unknown>;
        s.phase = 'Running';
        s.conditions = [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'False' },
          { type: 'ContainersReady', status: 'False' },
        ];
        s.containerStatuses = [
          {
            name: main.name,
            ready: false,
            started: true,
            restartCount: restarts,
            image: 'sim',
            imageID: 'sim',
            state: { running: { startedAt: started } },
          },
        ];
      });
      const probing = this.probe(run, main, exited);
      const living = this.liveness(run, main, volumes, exited);
      const code = await exited;
      await Promise.all([probing, living]);
      if (run.terminating || this.stopped) break;
      restarts += 1;
      this.patchPod(run, (p) => {
        const s = p.status as Record<string, unknown>;
        setReady(p, false);
        s.containerStatuses = [
          {
            name: main.name,
            ready: false,
            restartCount: restarts,
            image: 'sim',
            imageID: 'sim',
            state: {
              waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${main.name}` },
            },
            lastState: { terminated: { exitCode: code ?? 137, reason: 'Error', finishedAt: new Date().toISOString() } },
          },
        ];
      });
      await delay(Math.min(5_000, 200 * 2 ** restarts));
    }
  }

  /** The container's environment: its values and secretKeyRefs, the pod tag, PATH and HOME. */
  private containerEnv(run: PodRun, c: Container): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      WHARF_WORKLOAD: `${this.options.envTag}/${run.namespace}/${run.name}`,
    };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        const secret = this.store.get(SECRETS, run.namespace, ref.name) as
          { data?: Record<string, string> } | undefined;
        const encoded = secret?.data?.[ref.key];
        if (encoded !== undefined) env[e.name] = Buffer.from(encoded, 'base64').toString('utf8');
      }
    }
    return env;
  }

  /** Runs one container to its exit; returns the exit code (null when killed by a signal). */
  private runContainer(run: PodRun, c: Container, volumes: Map<string, string>): Promise<number | null> {
    const mounts = (c.volumeMounts ?? []).map((m) => [m.mountPath, volumes.get(m.name)!] as const);
    const mapArg = (a: string): string => {
      if (a === '0.0.0.0') return run.ip;
      const mount = mounts.find(([path]) => a === path || a.startsWith(`${path}/`));
      return mount ? mount[1] + a.slice(mount[0].length) : a;
    };
    const env = this.containerEnv(run, c);
    // Kubernetes expands $(VAR) from the container's environment; $$ escapes a literal $.
    const expand = (a: string): string =>
      a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) =>
        name === undefined ? '$' : (env[name] ?? m),
      );
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map(expand).map(mapArg);
    if (argv[0] === 'wharf') argv.splice(0, 1, process.execPath, this.options.wharfBin);
    const cwd = c.workingDir ? mapArg(c.workingDir) : undefined;
    const child = spawn(argv[0]!, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    run.process = child;
    const lines = run.logs.get(c.name) ?? [];
    run.logs.set(c.name, lines);
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop()!;
        for (const text of parts) {
          const line = { time: new Date().toISOString(), text };
          lines.push(line);
          run.lines.emit('line', c.name, line);
        }
      });
    }
    return new Promise((resolve) => {
      child.once('error', () => resolve(127));
      child.once('exit', (code) => resolve(code));
    });
  }

  /** Probes readiness until the process exits, writing Ready on every change. */
  private async probe(run: PodRun, c: Container, exited: Promise<unknown>): Promise<void> {
    let done = false;
    void exited.then(() => (done = true));
    const get = c.readinessProbe?.httpGet;
    const port = typeof get?.port === 'number' ? get.port : c.ports?.find((p) => p.name === get?.port)?.containerPort;
    let last: boolean | undefined;
    while (!done && !run.terminating) {
      let ok = get === undefined;
      if (get && port) {
        try {
          const res = await fetch(`http://${run.ip}:${port}${get.path ?? '/'}`, { signal: AbortSignal.timeout(1_000) });
          await res.arrayBuffer();
          ok = res.status >= 200 && res.status < 400;
        } catch {
          ok = false;
        }
      }
      if (ok !== last && !done && !run.terminating) {
        last = ok;
        this.patchPod(run, (p) => setReady(p, ok));
      }
      await delay(this.options.probeIntervalMs ?? 100);
    }
  }

  /**
   * Runs an exec liveness probe every `probeIntervalMs` until the process exits; after
   * `failureThreshold` failures in a row, stops the process (SIGTERM, SIGKILL after the grace
   * period) so that the restart loop starts it again.
   */
  private async liveness(
    run: PodRun,
    c: Container,
    volumes: Map<string, string>,
    exited: Promise<unknown>,
  ): Promise<void> {
    const command = c.livenessProbe?.exec?.command;
    if (!command?.length) return;
    let done = false;
    void exited.then(() => (done = true));
    const mounts = (c.volumeMounts ?? []).map((m) => [m.mountPath, volumes.get(m.name)!] as const);
    const mapPath = (a: string): string => {
      const mount = mounts.find(([path]) => a === path || a.startsWith(`${path}/`));
      return mount ? mount[1] + a.slice(mount[0].length) : a;
    };
    const env = this.containerEnv(run, c);
    const cwd = c.workingDir ? mapPath(c.workingDir) : undefined;
    let failures = 0;
    while (!done && !run.terminating) {
      const ok = await new Promise<boolean>((resolve) => {
        const probe = spawn(command[0]!, command.slice(1).map(mapPath), { env, cwd, stdio: 'ignore' });
        const timer = setTimeout(() => probe.kill('SIGKILL'), 5_000);
        probe.once('error', () => resolve(false));
        probe.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code === 0);
        });
      });
      failures = ok ? 0 : failures + 1;
      if (failures >= (c.livenessProbe?.failureThreshold ?? 3) && !done && !run.terminating) {
        const child = run.process!;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), (run.spec.terminationGracePeriodSeconds ?? 30) * 1000);
        await exited;
        clearTimeout(timer);
        return;
      }
      await delay(this.options.probeIntervalMs ?? 100);
    }
  }

  /** preStop delay, SIGTERM, SIGKILL after the grace period, then the pod object goes. */
  private async terminate(run: PodRun): Promise<void> {
    run.terminating = true;
    const main = run.spec.containers[0]!;
    const preStop = main.lifecycle?.preStop?.exec?.command;
    if (preStop?.[0] === 'sleep') await delay(Number(preStop[1]) * 1000);
    const child = run.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exit = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const grace = (run.spec.terminationGracePeriodSeconds ?? 30) * 1000;
      const timer = setTimeout(() => child.kill('SIGKILL'), grace);
      await exit;
      clearTimeout(timer);
    }
    this.store.remove(PODS, run.namespace, run.name);
    this.runs.delete(run.uid);
    rmSync(run.dir, { recursive: true, force: true });
    run.finish();
  }

  private patchPod(run: PodRun, mutate: (p: KObject) => void): void {
    if (!this.stopped) this.store.update(PODS, run.namespace, run.name, mutate);
  }
}

function isReady(pod: KObject): boolean {
  return ((pod.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
}

function setReady(pod: KObject, ready: boolean): void {
  const s = pod.status as { conditions?: { type: string; status: string }[]; containerStatuses?: { ready: boolean }[] };
  const value = ready ? 'True' : 'False';
  s.conditions = (s.conditions ?? [])
    .filter((c) => c.type !== 'Ready' && c.type !== 'ContainersReady')
    .concat([
      { type: 'Ready', status: value },
      { type: 'ContainersReady', status: value },
    ]);
  for (const c of s.containerStatuses ?? []) c.ready = ready;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
