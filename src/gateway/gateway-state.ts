/**
 * What a gateway process started with `--state-dir` records there, so that the control plane that
 * supervises it (`wharf up`) can find and adopt it after its own restart instead of starting a
 * second one: `gateway.json` (pid with its kernel start time, guarding against pid reuse, and its
 * URLs), written once it listens and removed at a clean stop; and `routes.json`, the last route
 * table it applied, which a gateway restarted while the control plane is down serves until the
 * control plane answers again.
 *
 * Both are replaced atomically (temp file, rename): a reader sees the old file or the new one.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RouteTable } from '../protocol/route-table.js';
import type { TableSink } from './table-source.js';
import { parseRouteTable } from './table-validation.js';

/** `gateway.json`. */
export interface GatewayStateRecord {
  readonly format: 1;
  readonly pid: number;
  /** Kernel start time of `pid` (see runtime/local/process-identity.ts). */
  readonly processStartTime?: string;
  /** The URL users call, e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The loopback admin listener (assignments, ejections), when the gateway runs one. */
  readonly adminUrl?: string;
  /** The control plane it follows. */
  readonly controlPlane: string;
  /** Whether it names the answering replica in `x-wharf-backend` (`--debug-headers`). */
  readonly debugHeaders?: boolean;
  /** The domain of application host names (`--domain`); absent = `localhost`. */
  readonly domain?: string;
}

const STATE = 'gateway.json';
const ROUTES = 'routes.json';

/** Atomically replaces `gateway.json`. */
export function writeGatewayState(dir: string, record: GatewayStateRecord): void {
  writeAtomically(join(dir, STATE), `${JSON.stringify(record, null, 2)}\n`);
}

/** The recorded gateway, or undefined when there is none (or it cannot be read). */
export function readGatewayState(dir: string): GatewayStateRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(dir, STATE), 'utf8')) as GatewayStateRecord;
    return record.format === 1 && Number.isInteger(record.pid) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Removes `gateway.json` if it still names `pid` (a newer gateway's record is left alone). */
export function removeGatewayState(dir: string, pid: number): void {
  if (readGatewayState(dir)?.pid === pid) rmSync(join(dir, STATE), { force: true });
}

/** Atomically replaces `routes.json` with `table`; owner-only (0600): it lists the token hashes of protected routes. */
export function writeLastTable(dir: string, table: RouteTable): void {
  writeAtomically(join(dir, ROUTES), JSON.stringify(table), 0o600);
}

/** The last table recorded, validated; undefined when there is none or it is unusable. */
export function readLastTable(dir: string): RouteTable | undefined {
  try {
    return parseRouteTable(JSON.parse(readFileSync(join(dir, ROUTES), 'utf8')) as unknown, join(dir, ROUTES));
  } catch {
    return undefined;
  }
}

function writeAtomically(path: string, text: string, mode = 0o644): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  renameSync(temp, path);
}

/** A table sink that also records each table it applies in `routes.json` (a failed write is logged, the table still applies). */
export function recordingSink(sink: TableSink, dir: string, log: (line: string) => void): TableSink {
  return {
    setTable(table: RouteTable): void {
      sink.setTable(table);
      try {
        writeLastTable(dir, table);
      } catch (err) {
        log(`could not record route table ${table.version} in ${dir}: ${(err as Error).message}`);
      }
    },
    get tableVersion() {
      return sink.tableVersion;
    },
  };
}
