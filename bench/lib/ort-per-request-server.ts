/**
 * A diagnostic reference, not a peer: a bare `node:http` server that makes one in-process ONNX
 * Runtime run per request (JSON.parse, one Float32Array, `session.run`, a hand-built response) with
 * no validation, metrics or batching. It shows how much of the distance between Wharf without
 * batching and the fixed-response ceiling is ONNX Runtime's per-call cost rather than Wharf's.
 *
 * Usage: node dist/bench/lib/ort-per-request-server.js PORT MODEL.onnx
 * Prints `listening on http://127.0.0.1:PORT` once bound; exits on SIGTERM or SIGINT.
 */
import { createServer } from 'node:http';
import { serveUntilSignal } from './serve-until-signal.js';
import * as ort from 'onnxruntime-node';

const [portArg = '0', modelPath = 'model.onnx'] = process.argv.slice(2);
// The same session settings as Wharf's model server, so the comparison isolates per-request work.
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const inputName = session.inputNames[0]!;
const outputName = session.outputNames[0]!;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST') {
      // The harness's readiness probe.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ready":true}');
      return;
    }
    const input = (JSON.parse(Buffer.concat(chunks).toString()) as { inputs: { shape: number[]; data: number[] }[] })
      .inputs[0]!;
    const feeds = { [inputName]: new ort.Tensor('float32', Float32Array.from(input.data), input.shape) };
    void session.run(feeds).then((out) => {
      const t = out[outputName]!;
      const body = `{"model_name":"readmission","model_version":"1","outputs":[{"name":"${outputName}","datatype":"FP32","shape":[${t.dims.join(',')}],"data":[${(t.data as Float32Array).join(',')}]}]}`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
});

serveUntilSignal(server, Number(portArg));
