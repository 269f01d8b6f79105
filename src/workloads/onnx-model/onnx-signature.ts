/**
 * Validating an artifact by loading it in ONNX Runtime, the same engine the model servers use: if
 * it loads here it will load there, and the session's metadata is the version's signature.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../core/errors.js';
import type { ModelVersion, TensorSpec } from '../core/resources.js';
import { loadModel, ModelLoadError, type TensorSpec as LoadedTensor } from '../serving/model.js';
import type { BlobStore, Digest } from './blob-store.js';

/** A model version's inputs and outputs. */
export type Signature = ModelVersion['signature'];

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
    ' Application deployments, for models that are not ONNX, are coming but not supported yet.'
  );
}

/** Loads `file` and returns its signature; a file ORT cannot load is `INVALID_ARGUMENT` on `artifact`. */
async function signatureOfFile(file: string, id: { name: string; version: string }): Promise<Signature> {
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

/**
 * Loads the blob in ONNX Runtime and returns its signature. A remote store's blob is copied to a
 * temp file first, since ORT reads from a path.
 *
 * @example
 *   const signature = await readSignature(blobs, digest, { name: 'readmission', version: '1.4.0' });
 */
export async function readSignature(
  blobs: BlobStore,
  digest: Digest,
  id: { name: string; version: string },
): Promise<Signature> {
  const local = blobs.local ? await blobs.path(digest) : undefined;
  if (local !== undefined) return signatureOfFile(local, id);
  const dir = await mkdtemp(join(tmpdir(), 'wharf-artifact-'));
  try {
    const file = join(dir, `${randomUUID()}.onnx`);
    await pipeline(await blobs.open(digest), createWriteStream(file));
    return await signatureOfFile(file, id);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
