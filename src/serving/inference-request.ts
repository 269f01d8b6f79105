/**
 * Validates an Open Inference Protocol request body against a model's signature and decodes its
 * tensors into typed arrays. Every rejection is an InvalidArgumentError naming the field and the rule.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { type TensorData, datatypeInfo, SUPPORTED_DATATYPES } from './datatypes.js';
import { decodeTensorData } from './tensor-data.js';
import { findTensor, type LoadedModel, type TensorSpec } from './model.js';

/** A validated input tensor, in the model's storage type. */
export interface DecodedInput {
  readonly spec: TensorSpec;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** A validated request: inputs in the model's input order, and the outputs to return. */
export interface InferenceRequest {
  readonly id: string | undefined;
  readonly inputs: readonly DecodedInput[];
  readonly outputs: readonly TensorSpec[];
}

/** Parameter values the protocol allows. */
type ParameterValue = string | number | boolean;

/** Shapes whose dimensions' product exceeds this are rejected before any allocation. */
const MAX_DIMENSION = 2 ** 31 - 1;

/**
 * Checks `body` (already JSON-parsed) against `model`. `maxElements` bounds the element count of
 * any tensor (derived from the body limit), so an absurd shape is refused before allocating.
 */
export function parseInferenceRequest(body: unknown, model: LoadedModel, maxElements: number): InferenceRequest {
  if (!isObject(body)) throw new InvalidArgumentError('request body: must be a JSON object');
  let id: string | undefined;
  if (body.id !== undefined) {
    if (typeof body.id !== 'string') throw new InvalidArgumentError('id: must be a string');
    id = body.id;
  }
  checkParameters(body.parameters, 'parameters');
  const inputs = decodeInputs(body.inputs, model, maxElements);
  const outputs = selectOutputs(body.outputs, model);
  return { id, inputs, outputs };
}

function decodeInputs(raw: unknown, model: LoadedModel, maxElements: number): DecodedInput[] {
  if (!Array.isArray(raw)) throw new InvalidArgumentError('inputs: must be an array of input tensors');
  if (raw.length === 0) throw new InvalidArgumentError('inputs: must contain at least one tensor');
  const byName = new Map<string, DecodedInput>();
  const symbols = new Map<string, { size: number; field: string }>();
  for (let i = 0; i < raw.length; i++) {
    const decoded = decodeInput(raw[i], `inputs[${i}]`, model, maxElements);
    if (byName.has(decoded.spec.name)) {
      throw new InvalidArgumentError(`inputs[${i}].name: duplicate input '${decoded.spec.name}'`);
    }
    byName.set(decoded.spec.name, decoded);
    checkSymbols(decoded, `inputs[${i}].shape`, symbols);
  }
  // Order by the model's signature so the batcher can compare requests input by input.
  return model.inputs.map((spec) => {
    const found = byName.get(spec.name);
    if (!found)
      throw new InvalidArgumentError(
        `inputs: missing input '${spec.name}' (${spec.datatype} ${formatShape(spec.shape)})`,
      );
    return found;
  });
}

function decodeInput(raw: unknown, field: string, model: LoadedModel, maxElements: number): DecodedInput {
  if (!isObject(raw)) throw new InvalidArgumentError(`${field}: must be an object with name, shape, datatype and data`);
  if (typeof raw.name !== 'string') throw new InvalidArgumentError(`${field}.name: must be a string`);
  const spec = findTensor(model.inputs, raw.name, `${field}.name`, 'input');
  if (typeof raw.datatype !== 'string') throw new InvalidArgumentError(`${field}.datatype: must be a string`);
  const info = datatypeInfo(raw.datatype);
  if (!info) {
    throw new InvalidArgumentError(
      `${field}.datatype: '${raw.datatype}' is not a supported datatype (${SUPPORTED_DATATYPES.join(', ')})`,
    );
  }
  if (info !== spec.info) {
    throw new InvalidArgumentError(`${field}.datatype: input '${spec.name}' is ${spec.datatype}, got ${raw.datatype}`);
  }
  const shape = checkShape(raw.shape, `${field}.shape`, spec, maxElements);
  checkParameters(raw.parameters, `${field}.parameters`);
  if (isObject(raw.parameters) && raw.parameters.binary_data_size !== undefined) {
    throw new InvalidArgumentError(
      `${field}.parameters.binary_data_size: binary tensor data is not supported; send data as JSON`,
    );
  }
  if (!Array.isArray(raw.data)) throw new InvalidArgumentError(`${field}.data: must be an array`);
  const data = decodeTensorData(raw.data, shape, info, `${field}.data`, spec.name);
  return { spec, shape, data };
}

/**
 * Inputs whose dimensions share a symbolic name (typically `batch`) must agree on its size; the
 * model would otherwise fail at run time or broadcast rows silently.
 */
function checkSymbols(input: DecodedInput, field: string, seen: Map<string, { size: number; field: string }>): void {
  input.spec.symbols.forEach((symbol, d) => {
    if (symbol === undefined) return;
    const size = input.shape[d]!;
    const first = seen.get(symbol);
    if (!first) {
      seen.set(symbol, { size, field: `${field}[${d}]` });
    } else if (first.size !== size) {
      throw new InvalidArgumentError(
        `${field}[${d}]: dimension '${symbol}' is ${size} here but ${first.size} in ${first.field}`,
      );
    }
  });
}

function checkShape(raw: unknown, field: string, spec: TensorSpec, maxElements: number): number[] {
  if (!Array.isArray(raw)) throw new InvalidArgumentError(`${field}: must be an array of dimensions`);
  if (raw.length !== spec.shape.length) {
    throw new InvalidArgumentError(
      `${field}: input '${spec.name}' has rank ${spec.shape.length} ${formatShape(spec.shape)}, got rank ${raw.length}`,
    );
  }
  let count = 1;
  for (let d = 0; d < raw.length; d++) {
    const dim: unknown = raw[d];
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 0) {
      throw new InvalidArgumentError(`${field}[${d}]: must be a non-negative integer, got ${JSON.stringify(dim)}`);
    }
    if (dim > MAX_DIMENSION)
      throw new InvalidArgumentError(`${field}[${d}]: ${dim} exceeds the largest dimension ${MAX_DIMENSION}`);
    const expected = spec.shape[d]!;
    if (expected !== -1 && dim !== expected) {
      throw new InvalidArgumentError(
        `${field}[${d}]: input '${spec.name}' needs ${expected} here ${formatShape(spec.shape)}, got ${dim}`,
      );
    }
    count *= dim;
  }
  if (count > maxElements) {
    throw new InvalidArgumentError(
      `${field}: ${formatShape(raw as number[])} has ${count} elements, more than the ${maxElements} a request body may carry`,
    );
  }
  return raw as number[];
}

function selectOutputs(raw: unknown, model: LoadedModel): readonly TensorSpec[] {
  if (raw === undefined) return model.outputs;
  if (!Array.isArray(raw)) throw new InvalidArgumentError('outputs: must be an array of {"name": ...} objects');
  const seen = new Set<string>();
  return raw.map((o: unknown, i) => {
    if (!isObject(o) || typeof o.name !== 'string')
      throw new InvalidArgumentError(`outputs[${i}].name: must be a string`);
    checkParameters(o.parameters, `outputs[${i}].parameters`);
    if (isObject(o.parameters) && o.parameters.binary_data !== undefined && o.parameters.binary_data !== false) {
      throw new InvalidArgumentError(`outputs[${i}].parameters.binary_data: binary tensor data is not supported`);
    }
    const spec = findTensor(model.outputs, o.name, `outputs[${i}].name`, 'output');
    if (seen.has(spec.name)) throw new InvalidArgumentError(`outputs[${i}].name: duplicate output '${spec.name}'`);
    seen.add(spec.name);
    return spec;
  });
}

function checkParameters(raw: unknown, field: string): void {
  if (raw === undefined) return;
  if (!isObject(raw)) throw new InvalidArgumentError(`${field}: must be an object of name/value pairs`);
  for (const [k, v] of Object.entries(raw)) {
    if (!isParameterValue(v)) throw new InvalidArgumentError(`${field}.${k}: must be a string, number or boolean`);
  }
}

function isParameterValue(v: unknown): v is ParameterValue {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Formats a shape as `[-1,16]` for messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
