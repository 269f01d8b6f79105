/**
 * Validating an ONNX artifact by loading it in ONNX Runtime, the same engine the model servers use:
 * if it loads here it will load there, and the session's metadata is the version's signature.
 * The registry reaches this through the `onnx-model` workload kind, never directly.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { TensorSpec } from '../../core/resources.js';
import { loadModel, ModelLoadError, type TensorSpec as LoadedTensor } from '../../serving/model.js';
import type { Signature } from '../workload-kind.js';

function plain(t: LoadedTensor): TensorSpec {
  return { name: t.name, datatype: t.datatype, shape: [...t.shape] };
}

// ONNX Runtime's messages name the file; the caller knows it only as "the artifact", and the
// blob store's layout is nobody's business outside the server.
function reasonOf(err: ModelLoadError, file: string): string {
  const prefix = `model file ${file} could not be loaded by ONNX Runtime: `;
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  // ORT repeats "Load model from <path> failed:" in front of the reason; the caller knows which file.
  return withoutSourceLocations(
    message.replace(`Load model from ${file} failed:`, '').split(file).join('<artifact>'),
  ).trim();
}

/**
 * ORT's C++ errors start with where they were raised: `/onnxruntime_src/…/model.cc:187
 * onnxruntime::Model::Model(…) ModelProto does not have a graph.` The build path and the function
 * signature say nothing to the caller (and describe the server); only the reason stays.
 */
const SOURCE_LOCATION =
  /\S*\/[^\s/]+\.(?:cc|cpp|cxx|c|h|hpp):\d+\s+(?:[\w:~<>]+\((?:[^()]|\([^()]*\))*\)(?: const)?\s+)?/g;

function withoutSourceLocations(message: string): string {
  return message.replace(SOURCE_LOCATION, '');
}

// ORT says only "Protobuf parsing failed." for a file that is not an ONNX graph at all: most often a
// pickle or a framework checkpoint (sklearn/joblib, torch.save). Say what it is and where to go.
const NOT_ONNX = /Protobuf parsing failed/i;
function notOnnxHint(err: ModelLoadError): string {
  if (!NOT_ONNX.test(err.message)) return '';
  return (
    ' This file is not an ONNX model (a pickle, joblib or torch.save file is not): convert it to ONNX first,' +
    ' e.g. with skl2onnx for scikit-learn or torch.onnx.export for PyTorch.' +
    ' Or serve it as it is in an application deployment: a server around the file (e.g. FastAPI), pushed with' +
    " 'wharf app push NAME DIR --version V' and deployed with type: application."
  );
}

/**
 * Loads `file` in ONNX Runtime and returns its signature; a file ORT cannot load is
 * `INVALID_ARGUMENT` on `artifact`, with ORT's reason (and a hint when it is not ONNX at all).
 *
 * @example
 *   const signature = await readOnnxSignature('/tmp/m.onnx', { name: 'readmission', version: '1.4.0' });
 */
export async function readOnnxSignature(file: string, id: { name: string; version: string }): Promise<Signature> {
  let model;
  try {
    model = await loadModel(file, id);
  } catch (err) {
    if (err instanceof ModelLoadError)
      throw new InvalidArgumentError(
        `artifact: ONNX Runtime cannot load it: ${reasonOf(err, file)}${notOnnxHint(err)}`,
      );
    throw err;
  }
  try {
    return { inputs: model.inputs.map(plain), outputs: model.outputs.map(plain) };
  } finally {
    await model.session.release();
  }
}
