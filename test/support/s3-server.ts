/**
 * An S3-compatible server in the test's own process (s3rver on port 0, files in a temp directory),
 * and the environment that points the AWS SDK at it. Loaded with createRequire because s3rver ships
 * no type declarations; the interface below is the part the tests use.
 */
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** A running S3-compatible server. */
export interface TestS3 {
  readonly endpoint: string;
  /** AWS_* variables for a child process (or this one) to use it. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts s3rver with `buckets` created. */
export async function startTestS3(buckets: readonly string[]): Promise<TestS3> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 'wharf-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    // s3rver's default credentials.
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    },
    close: () => server.close(),
  };
}
