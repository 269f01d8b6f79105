/**
 * Job data on S3-compatible storage (s3rver started here, port 0): a worker reads every object
 * under a prefix (one gzipped) and writes its output as an object, with the same bytes as the same
 * job on local files; a large output goes up as a multipart upload; a missing bucket is refused.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { writeS3Object } from '../src/batch/s3-data.js';
import { BATCH_EXIT } from '../src/protocol/batch-task.js';
import { batchFixture, featureRows, readmissionTask, writeTaskFile, type BatchFixture } from './support/batch.js';
import { startWharf } from './support/processes.js';
import { startTestS3, type TestS3 } from './support/s3-server.js';

let s3: TestS3;
let client: S3Client;
let fx: BatchFixture;
before(async () => {
  s3 = await startTestS3(['data']);
  Object.assign(process.env, s3.env);
  client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
  fx = await batchFixture();
});
after(async () => {
  client.destroy();
  await s3.close();
});

const getObject = async (key: string): Promise<Buffer> => {
  const answer = await client.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
};

async function runWorker(
  task: Parameters<typeof writeTaskFile>[1],
): Promise<{ code: number | string; stderr: string }> {
  const p = startWharf(['job-worker', '--task', await writeTaskFile(fx, task), '--part-rows', '64'], s3.env);
  return { code: await p.exited, stderr: p.stderr() };
}

test('input objects under a prefix, output to an object: the same bytes as the job on local files', async () => {
  const lines = featureRows(400, 31).map((r) => JSON.stringify(r));
  const a = lines.slice(0, 250).join('\n') + '\n';
  const b = gzipSync(lines.slice(250).join('\n') + '\nnot json\n');
  await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'in/part-a.jsonl', Body: a }));
  await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'in/part-b.jsonl.gz', Body: b }));
  const localDir = join(fx.dir, 'local-in');
  await mkdir(localDir, { recursive: true });
  await writeFile(join(localDir, 'part-a.jsonl'), a);
  await writeFile(join(localDir, 'part-b.jsonl.gz'), b);

  const remote = readmissionTask(fx, 's3-job', {
    input: { url: 's3://data/in/', format: 'jsonl' },
    output: { url: 's3://data/out/result.jsonl', format: 'jsonl' },
  });
  const local = readmissionTask(fx, 'local-job', {
    input: { url: localDir, format: 'jsonl' },
    output: { url: join(fx.dir, 'local-out.jsonl'), format: 'jsonl' },
  });
  for (const task of [remote, local]) {
    const { code, stderr } = await runWorker(task);
    assert.equal(code, BATCH_EXIT.succeeded, stderr);
  }
  const fromS3 = await getObject('out/result.jsonl');
  const fromDisk = await readFile(local.output.url);
  assert.equal(fromS3.toString().split('\n').length - 1, 400);
  assert.ok(fromS3.toString().startsWith('{"id":"part-a.jsonl:1",'), fromS3.subarray(0, 80).toString());
  assert.ok(fromS3.equals(fromDisk), 'S3 output differs from the local output');
  const errors = await readFile(join(remote.workDir, 'errors.jsonl'), 'utf8');
  assert.match(errors, /"file":"s3:\/\/data\/in\/part-b\.jsonl\.gz","line":151,"id":"part-b\.jsonl\.gz:151"/);
});

test('an output larger than one part goes up as a multipart upload and reads back whole', async () => {
  const piece = Buffer.alloc(100_000, 'x');
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 7; i++) yield Buffer.concat([Buffer.from(`chunk ${i}\n`), piece]);
  }
  const expected: Buffer[] = [];
  for await (const c of chunks()) expected.push(c);
  await writeS3Object('s3://data/big/object.bin', chunks(), { partBytes: 256 * 1024 });
  assert.ok((await getObject('big/object.bin')).equals(Buffer.concat(expected)));
});

test('a bucket that does not exist is refused (exit 2) with the input named', async () => {
  const task = readmissionTask(fx, 's3-missing', {
    input: { url: 's3://no-such-bucket/in/', format: 'jsonl' },
    output: { url: 's3://data/out/x.jsonl', format: 'jsonl' },
  });
  const { code, stderr } = await runWorker(task);
  assert.equal(code, BATCH_EXIT.invalidTask, stderr);
  assert.match(stderr, /input s3:\/\/no-such-bucket\/in\/: no such bucket/);
});
