/**
 * Builds inference responses as JSON text directly. The per-output prefixes are compiled once per
 * model, and tensor data is joined natively, which is several times faster than JSON.stringify of
 * an object tree on this hot path.
 */
import { encodeElements } from './datatypes.js';
import type { Tensor } from './executor.js';
import type { LoadedModel, TensorSpec } from './model.js';

/** Encodes responses for one model. */
export class ResponseEncoder {
  private readonly head: string;
  private readonly outputHeads = new Map<TensorSpec, string>();

  constructor(model: LoadedModel) {
    this.head = `{"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)}`;
    for (const o of model.outputs) {
      this.outputHeads.set(o, `{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":[`);
    }
  }

  /** The response body for `outputs` (specs) and their computed `tensors`, echoing `id` if given. */
  encode(id: string | undefined, outputs: readonly TensorSpec[], tensors: readonly Tensor[]): string {
    let s = this.head;
    if (id !== undefined) s += `,"id":${JSON.stringify(id)}`;
    s += ',"outputs":[';
    for (let i = 0; i < outputs.length; i++) {
      const spec = outputs[i]!;
      const t = tensors[i]!;
      if (i > 0) s += ',';
      s += `${this.outputHeads.get(spec)!}${t.shape.join(',')}],"data":[${encodeElements(spec.info, t.data)}]}`;
    }
    return `${s}]}`;
  }
}
