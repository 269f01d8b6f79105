/**
 * The floor the autoscaling figures are held against: process spawn + model load + first
 * inference for one replica, measured by starting `wharf serve-model` directly (no control
 * plane, no gateway) and polling its infer endpoint until the first 200.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './http.js';

/** Milliseconds from spawn to the first successful inference, once. */
export async function replicaFloorMs(wharfBin: string, modelPath: string, name: string, body: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [wharfBin, 'serve-model', '--model', modelPath, '--name', name, '--port', String(port)],
    { stdio: 'ignore' },
  );
  try {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/v2/models/${name}/infer`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      }).catch(() => undefined);
      if (res?.status === 200) {
        await res.arrayBuffer();
        return performance.now() - started;
      }
      await res?.arrayBuffer();
      if (performance.now() - started > 60_000) throw new Error('the replica did not answer within 60 s');
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}
