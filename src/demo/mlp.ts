/**
 * A heavier demo model for batching benchmarks: a 256 → 1024 → 1024 → 1 multilayer perceptron
 * with random weights. It predicts nothing meaningful; it exists so that one inference costs
 * enough compute (about 1.3 M multiply-adds per row) for dynamic batching to show its effect.
 */
import { encodeModel, type InitializerSpec, type NodeSpec } from './onnx-writer.js';
import { createRandom, type Random } from './random.js';

/** Width of the MLP's input. */
export const MLP_INPUT_SIZE = 256;
/** Width of each of the MLP's two hidden layers. */
export const MLP_HIDDEN_SIZE = 1024;
/** The default weight seed; a fixed seed keeps the artifact's sha256 stable across machines. */
export const MLP_DEFAULT_SEED = 7;

/** Options of {@link mlpModel}. */
export interface MlpOptions {
  seed?: number;
  inputSize?: number;
  hiddenSize?: number;
}

/**
 * Encodes the MLP as ONNX: input `input` FP32 [batch,256] → two MatMul+Add+Relu hidden layers
 * of 1024 → MatMul+Add+Sigmoid → output `score` FP32 [batch,1]. Weights are He-initialised
 * (normal, sd √(2/fan_in)) from a seeded generator, biases are small and random, so that the
 * output is deterministic and its sigmoid neither saturates nor sits at 0.5 everywhere.
 */
export function mlpModel(options: MlpOptions = {}): Uint8Array {
  const { seed = MLP_DEFAULT_SEED, inputSize = MLP_INPUT_SIZE, hiddenSize = MLP_HIDDEN_SIZE } = options;
  const rng = createRandom(seed);
  const sizes = [inputSize, hiddenSize, hiddenSize, 1];
  const initializers: InitializerSpec[] = [];
  const nodes: NodeSpec[] = [];
  let current = 'input';
  for (let layer = 0; layer < sizes.length - 1; layer++) {
    const fanIn = sizes[layer] ?? 0;
    const fanOut = sizes[layer + 1] ?? 0;
    const last = layer === sizes.length - 2;
    const w = `w${layer}`;
    const b = `b${layer}`;
    initializers.push(
      { name: w, type: 'FLOAT', dims: [fanIn, fanOut], data: heNormal(rng, fanIn, fanIn * fanOut) },
      { name: b, type: 'FLOAT', dims: [fanOut], data: smallBiases(rng, fanOut) },
    );
    nodes.push(
      { op: 'MatMul', inputs: [current, w], outputs: [`h${layer}_mm`] },
      { op: 'Add', inputs: [`h${layer}_mm`, b], outputs: [`h${layer}_pre`] },
      { op: last ? 'Sigmoid' : 'Relu', inputs: [`h${layer}_pre`], outputs: [last ? 'score' : `h${layer}`] },
    );
    current = `h${layer}`;
  }
  return encodeModel({
    graphName: 'mlp',
    producerName: 'wharf-demo',
    doc: `Random-weight MLP ${sizes.join('-')} for batching benchmarks; the score has no meaning.`,
    metadata: { seed: String(seed) },
    inputs: [{ name: 'input', type: 'FLOAT', dims: ['batch', inputSize] }],
    outputs: [{ name: 'score', type: 'FLOAT', dims: ['batch', 1] }],
    initializers,
    nodes,
  });
}

/** He initialisation keeps activation variance roughly constant through Relu layers. */
function heNormal(rng: Random, fanIn: number, count: number): Float32Array {
  const sd = Math.sqrt(2 / fanIn);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal(0, sd);
  return out;
}

/** Small non-zero biases, so that the Add nodes compute something rather than add zeros. */
function smallBiases(rng: Random, count: number): Float32Array {
  return Float32Array.from({ length: count }, () => rng.normal(0, 0.01));
}
