/**
 * Runs one batch of input tensors through ONNX Runtime. The batcher talks to this small interface
 * so it can be tested without a model and so test-only faults can be injected in one place.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ort from 'onnxruntime-node';
import { InternalError } from '../core/errors.js';
import type { TensorData } from './datatypes.js';
import type { LoadedModel, TensorSpec } from './model.js';

/** A tensor as the executor takes and returns it. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** Runs inputs (in the model's input order) and returns the named outputs in the order asked. */
export interface Executor {
  execute(inputs: readonly Tensor[], outputs: readonly TensorSpec[]): Promise<Tensor[]>;
}

/**
 * Test-only faults, for exercising rollouts, health checks and shutdown against a misbehaving
 * replica. Never set them in production: they make a healthy model look broken on purpose.
 */
export interface FaultInjection {
  /** Extra latency added before every run, in milliseconds. */
  latencyMs?: number;
  /** Fraction (0..1) of runs that fail with an internal error. */
  errorRate?: number;
  /** Every run fails while this file exists (checked every 50 ms): one replica made to fail on cue. */
  failWhileFileExists?: string;
}

/** Polls for a fault file; `present` is what the last check saw. */
class FaultFile {
  present = false;
  constructor(path: string) {
    const check = (): void => {
      this.present = existsSync(path);
    };
    check();
    setInterval(check, 50).unref();
  }
}

/** The executor backed by the model's ONNX Runtime session. */
export class OrtExecutor implements Executor {
  private readonly faultFile: FaultFile | undefined;

  constructor(
    private readonly model: LoadedModel,
    private readonly faults: FaultInjection = {},
  ) {
    if (faults.failWhileFileExists !== undefined) this.faultFile = new FaultFile(faults.failWhileFileExists);
  }

  async execute(inputs: readonly Tensor[], outputs: readonly TensorSpec[]): Promise<Tensor[]> {
    const { latencyMs = 0, errorRate = 0 } = this.faults;
    if (latencyMs > 0) await sleep(latencyMs);
    if (errorRate > 0 && Math.random() < errorRate)
      throw new InternalError('injected fault: inference failed (test-only --inject-error-rate)');
    if (this.faultFile?.present === true)
      throw new InternalError('injected fault: inference failed (test-only --inject-fault-file)');
    const feeds: Record<string, ort.Tensor> = {};
    const specs = this.model.inputs;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const t = inputs[i]!;
      feeds[spec.name] = new ort.Tensor(spec.info.ort, t.data as never, t.shape as number[]);
    }
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.model.session.run(
        feeds,
        outputs.map((o) => o.name),
      );
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new InternalError(`model run failed: ${message}`);
    }
    return outputs.map((o) => {
      const value = result[o.name];
      if (!value) throw new InternalError(`model did not produce output '${o.name}'`);
      return { shape: value.dims, data: value.data as TensorData };
    });
  }
}
