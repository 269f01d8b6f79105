/**
 * nginx as the gateway benchmark's reference reverse proxy: Debian's package, a minimal
 * configuration written into a temporary directory, run in the foreground so the harness owns the
 * process and stops it with the others.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './processes.js';

/** Debian installs the binary here; /usr/sbin is not always on a non-root PATH. */
export const NGINX = '/usr/sbin/nginx';

/**
 * Worker processes nginx runs with. One, because the Wharf gateway is one Node.js process (one
 * event loop): the comparison is one core against one core.
 */
export const NGINX_WORKERS = 1;

/** Where nginx listens, where it proxies to, and where it may write. */
export interface NginxConfOptions {
  /** Port on 127.0.0.1. */
  port: number;
  /** `host:port` of the model server. */
  upstream: string;
  /** Path prefix routed to the model server and stripped, e.g. `/bench/readmission/`. */
  prefix: string;
  /** Absolute directory for the pid file, logs and temp files. */
  dir: string;
  /** nginx drops privileges to `nobody` when started as root, and `nobody` cannot enter our 0700 temp directory. */
  runAsRoot: boolean;
}

/**
 * A minimal, production-style proxy configuration: upstream keep-alive, HTTP/1.1 to the upstream,
 * no access log (the Wharf gateway keeps no access log either). Every path is absolute and inside
 * `dir`, so nothing under /etc/nginx, /var/log or /var/lib/nginx is read or written.
 */
export function nginxConf(opts: NginxConfOptions): string {
  const at = (name: string): string => join(opts.dir, name);
  return [
    // Set here, not with -g, because nginx rejects a directive given in both places.
    'daemon off;',
    // A master and one worker, as nginx is deployed; the worker does all the proxying.
    'master_process on;',
    `worker_processes ${NGINX_WORKERS};`,
    ...(opts.runAsRoot ? ['user root;'] : []),
    `pid ${at('nginx.pid')};`,
    `error_log ${at('error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${at('client_body')};`,
    `  proxy_temp_path ${at('proxy')};`,
    `  fastcgi_temp_path ${at('fastcgi')};`,
    `  uwsgi_temp_path ${at('uwsgi')};`,
    `  scgi_temp_path ${at('scgi')};`,
    '  upstream model {',
    `    server ${opts.upstream};`,
    '    keepalive 64;',
    // The default (1,000) would close every upstream connection after 1,000 requests; Wharf's pool never does.
    '    keepalive_requests 1000000;',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${opts.port};`,
    // Likewise for wrk's connections: nginx would otherwise make each reconnect every 1,000 requests.
    '    keepalive_requests 1000000;',
    `    location ${opts.prefix} {`,
    '      proxy_pass http://model/;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Writes `nginx.conf` into `opts.dir` and returns the arguments that run nginx with it in the foreground. */
export async function writeNginxConf(
  opts: NginxConfOptions,
): Promise<{ confPath: string; args: string[]; conf: string }> {
  const conf = nginxConf(opts);
  const confPath = join(opts.dir, 'nginx.conf');
  await writeFile(confPath, conf);
  // -p: relative paths (none, but also nginx's compiled-in defaults) resolve inside `dir`;
  // -e stderr: errors before the configuration is read (e.g. a syntax error) reach the harness's
  // output tail instead of /var/log/nginx; later ones go to `dir`/error.log (see {@link nginxErrorLog}).
  return { confPath, conf, args: ['-p', opts.dir + '/', '-e', 'stderr', '-c', confPath] };
}

/** The last lines of nginx's error log in `dir`, to explain a failed start; empty when there is none. */
export async function nginxErrorLog(dir: string): Promise<string> {
  const text = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
  return text.split('\n').slice(-20).join('\n').trim();
}

/** `nginx version: nginx/1.22.1`, or `unknown`. nginx prints it on stderr. */
export async function nginxVersion(): Promise<string> {
  const result = await runCommand(NGINX, ['-v']).catch(() => undefined);
  return (result?.stderr || result?.stdout || '').trim() || 'unknown';
}
