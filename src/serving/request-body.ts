/**
 * Reads a request body up to a byte limit. The limit is checked against Content-Length before
 * reading and against the running total while streaming, so an oversized body is refused without
 * being buffered.
 */
import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError, PayloadTooLargeError } from '../core/errors.js';

/** Resolves with the whole body, or rejects with PayloadTooLargeError / InvalidArgumentError. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit, `Content-Length ${declared}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge(limit, `more than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', (err) => reject(new InvalidArgumentError(`request body: could not be read (${err.message})`)));
  });
}

function tooLarge(limit: number, what: string): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body: ${what} exceeds the limit of ${limit} bytes (--max-body-bytes)`);
}
