/**
 * The demo "readmission risk" model: a logistic regression trained here, in TypeScript, on a
 * synthetic, deterministic data set, and exported to ONNX. It stands in for the model a hospital's
 * ML team would push to Wharf, so the quick start needs neither Python nor a download.
 */
import { elemTypeCode, encodeModel } from './onnx-writer.js';
import { createRandom } from './random.js';

/**
 * The 16 input features, each a z-score (standardised over the training population), with how
 * strongly it loads on a hidden "frailty" factor (which makes the features correlated, as real
 * clinical variables are) and its weight in the hidden rule that generates the labels.
 */
const FEATURE_TABLE: readonly (readonly [name: string, frailty: number, weight: number])[] = [
  ['age', 0.5, 0.25], // years
  ['prior_admissions_12m', 0.5, 0.8], // inpatient stays in the last year
  ['length_of_stay_days', 0.4, 0.35],
  ['num_diagnoses', 0.5, 0.3], // coded diagnoses on this stay
  ['num_medications', 0.4, 0.2], // distinct drugs at discharge
  ['num_procedures', 0.2, 0.05],
  ['emergency_admission', 0.3, 0.4], // admitted through the emergency department
  ['charlson_comorbidity_index', 0.6, 0.5],
  ['hba1c', 0.2, 0.15], // glycated haemoglobin, %
  ['serum_creatinine', 0.3, 0.25], // mg/dL, kidney function
  ['hemoglobin', -0.3, -0.3], // g/dL, anaemia raises risk
  ['systolic_bp', 0.0, 0.0], // mmHg, deliberately uninformative
  ['bmi', 0.1, 0.05],
  ['lives_alone', 0.2, 0.2],
  ['discharged_home', -0.4, -0.35], // versus to a care facility
  ['followup_scheduled', 0.0, -0.45], // outpatient follow-up booked within 7 days
];
/** Intercept of the hidden rule; about 20-25% of synthetic patients are readmitted. */
const HIDDEN_INTERCEPT = -2.0;

/** Names of the model's 16 input features, in column order. */
export const READMISSION_FEATURES: readonly string[] = FEATURE_TABLE.map(([name]) => name);

/** A training set: one row of feature values per patient and a 0/1 readmitted label. */
export interface ReadmissionData {
  features: string[];
  x: number[][];
  y: number[];
}

/** A fitted logistic regression: P(y=1 | x) = sigmoid(coef · x + intercept). */
export interface LogisticModel {
  coef: number[];
  intercept: number;
  features: string[];
}

/** The default size and seed of the demo training set. */
export const READMISSION_DATA_DEFAULTS = { n: 2000, seed: 20_240_611 } as const;

/**
 * Generates the synthetic training set deterministically: correlated standard-normal features
 * and labels drawn as Bernoulli(sigmoid(hidden linear rule)), so the noise is the label draw.
 */
export function generateReadmissionData(options: { n?: number; seed?: number } = {}): ReadmissionData {
  const { n, seed } = { ...READMISSION_DATA_DEFAULTS, ...options };
  const rng = createRandom(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const frailty = rng.normal();
    // Mixing with an independent normal at these weights keeps every feature's variance at 1.
    const row = FEATURE_TABLE.map(([, load]) => load * frailty + Math.sqrt(1 - load * load) * rng.normal());
    const logit = FEATURE_TABLE.reduce((s, [, , w], j) => s + w * (row[j] ?? 0), HIDDEN_INTERCEPT);
    x.push(row);
    y.push(rng.uniform() < sigmoid(logit) ? 1 : 0);
  }
  return { features: [...READMISSION_FEATURES], x, y };
}

/** Options of {@link trainLogisticRegression}; the defaults match scikit-learn's defaults. */
export interface TrainOptions {
  /** Inverse regularisation strength, as in scikit-learn (penalty = ||w||² / (2C)). */
  C?: number;
  maxIterations?: number;
  /** Stop when no coefficient moves by more than this in one Newton step. */
  tolerance?: number;
}

/**
 * Fits L2-regularised logistic regression by Newton's method in float64, minimising
 * `||w||² / (2C) + Σ log-loss` with the intercept unpenalised: the objective of scikit-learn's
 * `LogisticRegression(C)`. Newton converges to the optimum to machine precision in a handful of
 * steps, so the result equals what any converged solver finds on the same data.
 */
export function trainLogisticRegression(
  data: ReadmissionData,
  options: TrainOptions = {},
): LogisticModel & { iterations: number } {
  const { C = 1, maxIterations = 100, tolerance = 1e-12 } = options;
  const d = data.features.length;
  // theta = [w_0 .. w_{d-1}, intercept]; rows are augmented with a constant 1.
  let theta = new Array<number>(d + 1).fill(0);
  const rows = data.x.map((r) => [...r, 1]);
  const objective = (t: number[]): number =>
    rows.reduce(
      (s, r, i) => {
        const z = dot(t, r);
        return s + softplus(z) - (data.y[i] ?? 0) * z;
      },
      t.slice(0, d).reduce((s, w) => s + (w * w) / (2 * C), 0),
    );

  for (let iter = 1; iter <= maxIterations; iter++) {
    const grad = theta.map((w, j) => (j < d ? w / C : 0));
    const hess = theta.map((_, j) => theta.map((__, k) => (j === k && j < d ? 1 / C : 0)));
    rows.forEach((r, i) => {
      const p = sigmoid(dot(theta, r));
      const residual = p - (data.y[i] ?? 0);
      const weight = p * (1 - p);
      for (let j = 0; j <= d; j++) {
        grad[j] = (grad[j] ?? 0) + residual * (r[j] ?? 0);
        const hj = hess[j] ?? [];
        for (let k = 0; k <= j; k++) hj[k] = (hj[k] ?? 0) + weight * (r[j] ?? 0) * (r[k] ?? 0);
      }
    });
    const step = choleskySolve(hess, grad);
    const done = Math.max(...step.map(Math.abs)) < tolerance * (1 + Math.max(...theta.map(Math.abs)));
    // Plain Newton almost always converges here; halving guards against an overshoot anyway. It is
    // skipped for the last, tiny step, where objective differences are only rounding noise.
    const before = objective(theta);
    let scale = 1;
    let next = theta.map((t, j) => t - (step[j] ?? 0));
    while (!done && objective(next) > before && scale > 1e-6) {
      scale /= 2;
      next = theta.map((t, j) => t - scale * (step[j] ?? 0));
    }
    theta = next;
    if (done) {
      return { coef: theta.slice(0, d), intercept: theta[d] ?? 0, features: [...data.features], iterations: iter };
    }
  }
  throw new Error(`logistic regression did not converge in ${maxIterations} Newton steps`);
}

let cachedWeights: LogisticModel | undefined;

/** The demo model's weights: logistic regression (C=1) fitted to the default training set. */
export function readmissionWeights(): LogisticModel {
  if (!cachedWeights) {
    const { coef, intercept, features } = trainLogisticRegression(generateReadmissionData());
    cachedWeights = { coef, intercept, features };
  }
  return { ...cachedWeights, coef: [...cachedWeights.coef], features: [...cachedWeights.features] };
}

/** The readmission probability of one row computed in float64, as a reference for the ONNX model. */
export function readmissionProbability(row: readonly number[], model: LogisticModel = readmissionWeights()): number {
  return sigmoid(dot(model.coef, row) + model.intercept);
}

/**
 * Encodes the readmission model as ONNX: input `input` FP32 [batch,16]; outputs `probability`
 * FP32 [batch,1] = Sigmoid(input·W + b) and `label` INT64 [batch,1] = (probability > 0.5).
 */
export function readmissionModel(model: LogisticModel = readmissionWeights()): Uint8Array {
  const d = model.features.length;
  return encodeModel({
    graphName: 'readmission',
    producerName: 'wharf-demo',
    doc: 'Probability of hospital readmission within 30 days; logistic regression on synthetic data.',
    metadata: {
      features: JSON.stringify(model.features),
      training: JSON.stringify({ algorithm: 'logistic-regression', C: 1, ...READMISSION_DATA_DEFAULTS }),
    },
    inputs: [{ name: 'input', type: 'FLOAT', dims: ['batch', d], doc: 'z-scored features, in metadata order' }],
    outputs: [
      { name: 'probability', type: 'FLOAT', dims: ['batch', 1] },
      { name: 'label', type: 'INT64', dims: ['batch', 1] },
    ],
    initializers: [
      { name: 'coef', type: 'FLOAT', dims: [d, 1], data: Float32Array.from(model.coef) },
      { name: 'intercept', type: 'FLOAT', dims: [1], data: Float32Array.of(model.intercept) },
      { name: 'threshold', type: 'FLOAT', dims: [], data: Float32Array.of(0.5) },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['input', 'coef'], outputs: ['logit_raw'] },
      { op: 'Add', inputs: ['logit_raw', 'intercept'], outputs: ['logit'] },
      { op: 'Sigmoid', inputs: ['logit'], outputs: ['probability'] },
      { op: 'Greater', inputs: ['probability', 'threshold'], outputs: ['is_positive'] },
      { op: 'Cast', inputs: ['is_positive'], outputs: ['label'], attributes: { to: { int: elemTypeCode('INT64') } } },
    ],
  });
}

function sigmoid(z: number): number {
  // Written in two branches so that exp never overflows.
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z), without overflow for large |z|. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

/**
 * Solves A x = b for symmetric positive-definite A, reading only A's lower triangle (the caller
 * fills only that half).
 */
function choleskySolve(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const at = (m: readonly (readonly number[])[], i: number, j: number): number => m[i]?.[j] ?? 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = at(a, i, j);
      for (let k = 0; k < j; k++) s -= at(l, i, k) * at(l, j, k);
      if (i === j) {
        if (s <= 0) throw new Error('Hessian is not positive definite');
        (l[i] as number[])[i] = Math.sqrt(s);
      } else {
        (l[i] as number[])[j] = s / at(l, j, j);
      }
    }
  }
  const z = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i] ?? 0;
    for (let k = 0; k < i; k++) s -= at(l, i, k) * (z[k] ?? 0);
    z[i] = s / at(l, i, i);
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i] ?? 0;
    for (let k = i + 1; k < n; k++) s -= at(l, k, i) * (x[k] ?? 0);
    x[i] = s / at(l, i, i);
  }
  return x;
}
