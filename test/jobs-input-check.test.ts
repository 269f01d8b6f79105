// What a job's input must pass at create: a local CSV header that fits the model (read, never the
// whole file), and an S3 prefix with something in it in a bucket that can be read (s3rver, started here).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { checkLocalInput } from '../src/services/jobs/job-input-check.js';
import { writeFeatureCsv } from './support/job-data.js';
import { startS3Server, type S3Server } from './support/s3-server.js';

let dir: string;
let s3: S3Server;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-job-input-'));
  s3 = await startS3Server(['data']);
  Object.assign(process.env, s3.env);
  const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
  await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'in/part-0.jsonl', Body: '[1,2]\n' }));
  client.destroy();
});
after(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

const out = { url: '/tmp/out.jsonl', format: 'jsonl' as const };

test('a CSV header must name the columns used, as many as the model takes', async () => {
  const csv = writeFeatureCsv(join(dir, 'in.csv'), 2, 16);
  await checkLocalInput({ url: csv, format: 'csv', idField: 'id' }, out, 16);
  await assert.rejects(checkLocalInput({ url: csv, format: 'csv' }, out, 16), /input\.columns: the model takes 16/);
  await assert.rejects(
    checkLocalInput({ url: csv, format: 'csv', columns: ['f0', 'nope'] }, out, 2),
    /input\.columns: "nope" not in the input's header/,
  );
  await assert.rejects(
    checkLocalInput({ url: csv, format: 'csv', idField: 'id' }, { ...out, joinColumns: ['x'] }, 16),
    /output\.joinColumns: "x"/,
  );
  await assert.rejects(
    checkLocalInput({ url: join(dir, 'none'), format: 'csv' }, out, 16),
    /input\.url: .* does not exist/,
  );
});

test('an S3 input needs a readable bucket with an object under the prefix', async () => {
  await checkLocalInput({ url: 's3://data/in/', format: 'jsonl' }, out, 2);
  await assert.rejects(
    checkLocalInput({ url: 's3://missing-bucket/in/', format: 'jsonl' }, out, 2),
    /input\.url: the bucket "missing-bucket" cannot be read \(NoSuchBucket\)/,
  );
  await assert.rejects(
    checkLocalInput({ url: 's3://data/empty/', format: 'jsonl' }, out, 2),
    /input\.url: no object under/,
  );
});
