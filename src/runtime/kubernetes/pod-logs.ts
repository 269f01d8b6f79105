/**
 * Replica logs from the Pod log API. The API merges a container's stdout and stderr into one
 * stream, so every line is reported as `stdout`; its time is the kubelet's timestamp.
 */
import type { LogLine } from '../runtime.js';
import type { KubeClient } from './kube-client.js';

/** A pod and the container whose log is read. */
export interface LogSource {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
}

/** `2024-05-01T10:00:00.123456789Z text` → time and text (the time as ISO-8601 with milliseconds). */
export function parseLogLine(replica: string, raw: string): LogLine {
  const space = raw.indexOf(' ');
  const stamp = space > 0 ? raw.slice(0, space) : '';
  const time = Date.parse(stamp);
  if (Number.isNaN(time)) return { replica, time: new Date().toISOString(), stream: 'stdout', text: raw };
  return { replica, time: new Date(time).toISOString(), stream: 'stdout', text: raw.slice(space + 1) };
}

/**
 * Lines of every source: without `follow`, pod by pod (a pod whose container has not started yet
 * has none); with `follow`, merged as they arrive until `signal` aborts.
 */
export async function* podLogLines(
  client: KubeClient,
  sources: readonly LogSource[],
  options: { follow?: boolean; tail?: number; signal?: AbortSignal },
): AsyncIterable<LogLine> {
  if (!options.follow) {
    for (const s of sources) {
      try {
        for await (const raw of client.podLogs(s.namespace, s.pod, s.container, { tail: options.tail }))
          yield parseLogLine(s.pod, raw);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 400) throw err; // 400: container not started yet
      }
    }
    return;
  }
  // Merge: each pod's follower pushes into one queue; the consumer drains it.
  const queue: LogLine[] = [];
  // Our own signal, so a consumer that stops reading (break) also stops the followers.
  const inner = new AbortController();
  const forward = (): void => inner.abort();
  options.signal?.addEventListener('abort', forward, { once: true });
  if (options.signal?.aborted) inner.abort();
  let wake: (() => void) | undefined;
  let running = sources.length;
  const follow = async (s: LogSource): Promise<void> => {
    try {
      for await (const raw of client.podLogs(s.namespace, s.pod, s.container, {
        follow: true,
        tail: options.tail,
        signal: inner.signal,
      })) {
        queue.push(parseLogLine(s.pod, raw));
        wake?.();
      }
    } catch {
      // A pod that went away or has not started ends its part of the stream.
    } finally {
      running -= 1;
      wake?.();
    }
  };
  const all = sources.map(follow);
  const aborted = new Promise<void>((resolve) =>
    inner.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  try {
    while (!inner.signal.aborted && (running > 0 || queue.length > 0)) {
      if (queue.length === 0) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
      wake = undefined;
      while (queue.length > 0 && !inner.signal.aborted) yield queue.shift()!;
    }
  } finally {
    inner.abort();
    options.signal?.removeEventListener('abort', forward);
    await Promise.allSettled(all);
  }
}
