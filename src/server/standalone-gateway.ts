/**
 * The standalone gateway process (`wharf gateway`), assembled: a {@link GatewayServer} that follows
 * a control plane's route watch stream ({@link WatchTableSource}), asks it for a replica when a
 * route holds requests ({@link ControlPlaneActivator}, scale from zero), and optionally answers the
 * supervising control plane on a loopback admin port ({@link GatewayAdminServer}: assignments,
 * ejection events). With a state directory it records itself (gateway.json, for `wharf up` to
 * adopt it; see gateway-process.ts) and its last route table (routes.json), which it serves at
 * start so that it routes while the control plane is down. The CLI only parses flags and calls
 * {@link startStandaloneGateway}.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GatewayAdminServer } from '../gateway/admin-server.js';
import { ControlPlaneActivator } from '../gateway/control-plane-activator.js';
import { GatewayServer } from '../gateway/gateway-server.js';
import { readLastTable, recordingSink, removeGatewayState, writeGatewayState } from '../gateway/gateway-state.js';
import { type TableSink, WatchTableSource } from '../gateway/table-source.js';
import { processStartTime } from '../runtime/local/process-identity.js';

/** Settings of {@link startStandaloneGateway}; they mirror `wharf gateway`'s flags. */
export interface StandaloneGatewayOptions {
  /** The control plane API it follows, e.g. http://127.0.0.1:8080 */
  readonly controlPlane: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Also listen on 127.0.0.1 at this port for the supervising control plane; 0 picks a free one. */
  readonly adminPort?: number;
  /** Where to record this gateway and its last route table; none when unset. */
  readonly stateDir?: string;
  /** Name the replica that answered in an x-wharf-backend response header. */
  readonly debugHeaders?: boolean;
  /** Applications are also served at `<name>.<environment>.<domain>` (default `localhost`). */
  readonly domain?: string;
  /** Most client connections open at once (default the gateway's). */
  readonly maxConnections?: number;
  /** Receives the gateway's log lines. */
  readonly log: (line: string) => void;
  /** The token its calls to the control plane carry (`--token-file`, or WHARF_TOKEN); none with `--auth none`. */
  readonly token?: string;
}

/** A running standalone gateway. */
export interface StandaloneGateway {
  /** Base URL of the gateway, e.g. http://127.0.0.1:8000 */
  readonly url: string;
  /** Stops following, stops the gateway and its admin server, and removes its state record. */
  stop(): Promise<void>;
}

/** Starts the gateway, serves the recorded table (if any), then follows the control plane. */
export async function startStandaloneGateway(options: StandaloneGatewayOptions): Promise<StandaloneGateway> {
  const { controlPlane, log } = options;
  const debugHeaders = options.debugHeaders === true;
  // Scale from zero: routes holding requests ask the control plane for a replica.
  // Its calls to the control plane (the watch, activations) carry the token it was given.
  const headers: Record<string, string> =
    options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
  const activator = new ControlPlaneActivator({ controlPlane, log, headers });
  const gateway = new GatewayServer({
    host: options.host,
    port: options.port,
    debugHeaders,
    domain: options.domain,
    maxConnections: options.maxConnections,
    log,
    onHold: (env, name) => activator.activate(env, name),
  });
  await gateway.start();
  const stateDir = options.stateDir === undefined ? undefined : resolve(options.stateDir);
  let sink: TableSink = gateway;
  if (stateDir !== undefined) {
    await mkdir(stateDir, { recursive: true });
    // Serve the last table at once: the control plane may be down while this gateway restarts.
    const last = readLastTable(stateDir);
    if (last !== undefined) gateway.setTable(last);
    sink = recordingSink(gateway, stateDir, log);
  }
  const source = new WatchTableSource(sink, {
    url: `${controlPlane.replace(/\/+$/, '')}/api/v1/routes/watch`,
    headers,
  });
  await source.start();
  const admin =
    options.adminPort === undefined ? undefined : new GatewayAdminServer(gateway, () => source.reconnectNow());
  await admin?.start(options.adminPort!);
  if (stateDir !== undefined) {
    writeGatewayState(stateDir, {
      format: 1,
      pid: process.pid,
      processStartTime: processStartTime(process.pid),
      url: gateway.url,
      host: options.host,
      port: Number(new URL(gateway.url).port),
      adminUrl: admin?.url,
      controlPlane,
      debugHeaders,
      ...(options.domain === undefined ? {} : { domain: options.domain }),
    });
  }
  return {
    url: gateway.url,
    stop: async () => {
      await source.stop();
      await gateway.stop();
      await admin?.stop();
      await activator.settled();
      if (stateDir !== undefined) removeGatewayState(stateDir, process.pid);
    },
  };
}
