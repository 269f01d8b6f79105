/**
 * One runtime per state directory. Two control planes supervising the same replicas would each
 * restart and scale them: the very "two sets" adoption exists to prevent. The lock is a file
 * holding the owner's process identity; a lock whose owner is gone is stale and taken over.
 */
import { openSync, readFileSync, rmSync, writeFileSync, closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UnavailableError } from '../../core/errors.js';
import { isSameProcess, processStartTime, type ProcessIdentity } from './process-identity.js';

/** Holds `<stateDir>/runtime.lock` until {@link StateLock.release}. */
export class StateLock {
  private constructor(private readonly path: string) {}

  /** Takes the lock or throws `UnavailableError` naming the process that holds it. */
  static acquire(stateDir: string): StateLock {
    // Owner-only: workload records hold the replicas' environment, which may carry secrets.
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, 'runtime.lock');
    const me: ProcessIdentity = { pid: process.pid, startTime: processStartTime(process.pid) };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeFileSync(fd, JSON.stringify(me));
        closeSync(fd);
        return new StateLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readOwner(path);
      if (owner && isSameProcess(owner)) {
        const who = owner.pid === process.pid ? 'another LocalRuntime in this process' : `process ${owner.pid}`;
        throw new UnavailableError(`local runtime state directory ${stateDir} is in use by ${who}; close it first`);
      }
      rmSync(path, { force: true });
    }
    throw new UnavailableError(`could not lock local runtime state directory ${stateDir}`);
  }

  /** Releases the lock. */
  release(): void {
    rmSync(this.path, { force: true });
  }
}

function readOwner(path: string): ProcessIdentity | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ProcessIdentity;
  } catch {
    return undefined;
  }
}
