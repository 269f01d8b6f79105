// TLS for the API with real HTTPS requests: `tls: 'auto'` makes a local CA and certificate under
// the home and serves with them (a client that does not trust the CA is refused; the gateway
// process, trusting it, follows the API); given files with a 10-day certificate are served and
// warned about (log line, metric); the CLI trusts WHARF_CA_FILE.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { TLS_EXPIRY_METRIC } from '../src/server/api-server.js';
import { autoTlsPaths, certificateExpiry, issueCertificate } from '../src/server/tls.js';
import { eventually } from './support/eventually.js';
import { startE2eControlPlane } from './support/control-plane-e2e.js';
import { WHARF_BIN } from './support/processes.js';

const run = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** GET `url` trusting `ca`, with `token`. */
async function get(url: string, ca: string, token: string): Promise<{ status: number; text: string }> {
  const r = await undiciFetch(url, {
    dispatcher: new Agent({ connect: { ca } }),
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: r.status, text: await r.text() };
}

test('tls auto: a local CA and certificate under the home; HTTPS that only a client trusting the CA accepts', async () => {
  const lines: string[] = [];
  const e = await startE2eControlPlane('wharf-tls-auto-', {}, { tls: 'auto', log: (l) => void lines.push(l) });
  cleanups.push(() => e.stop());
  const paths = autoTlsPaths(e.home);
  assert.match(e.cp.apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(e.cp.tls?.caFile, paths.ca);
  assert.equal((await stat(paths.caKey)).mode & 0o777, 0o600, 'the CA key is private');
  assert.equal((await stat(paths.key)).mode & 0o777, 0o600, 'the server key is private');
  assert.ok(
    lines.some((l) => l.includes(`clients trust ${paths.ca}`)),
    lines.join('\n'),
  );
  const ca = await readFile(paths.ca, 'utf8');

  const envs = await get(`${e.cp.apiUrl}/api/v1/environments`, ca, e.adminToken);
  assert.equal(envs.status, 200, envs.text);
  await assert.rejects(fetch(`${e.cp.apiUrl}/healthz`), 'a client without the CA does not connect');
  await assert.rejects(fetch(e.cp.apiUrl.replace('https:', 'http:') + '/healthz'), 'no plain HTTP on the port');

  const metrics = await get(`${e.cp.apiUrl}/metrics`, ca, e.adminToken);
  const value = Number(new RegExp(`^${TLS_EXPIRY_METRIC} (\\S+)$`, 'm').exec(metrics.text)?.[1]);
  assert.equal(value, certificateExpiry(await readFile(paths.cert, 'utf8')).getTime() / 1000);
  assert.ok(!lines.some((l) => /expires in/.test(l)), 'a fresh certificate is not warned about');

  // The gateway process follows the API over HTTPS (it trusts the CA): it gets a route table.
  await eventually(async () => (await fetch(`${e.cp.gatewayUrl}/readyz`)).status === 200, {
    timeoutMs: 20_000,
    message: 'the gateway has a route table from the HTTPS API',
  });

  // The CLI trusts $WHARF_HOME/tls/ca.pem by itself.
  const cli = await run(process.execPath, [WHARF_BIN, 'env', 'list'], {
    env: { ...process.env, ...e.cliEnv(e.adminToken), WHARF_HOME: e.home },
  });
  assert.match(cli.stdout, /production/);
});

test('a 10-day certificate given as files is served, warned about, and trusted by the CLI through WHARF_CA_FILE', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-tls-files-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const ca = await issueCertificate({ commonName: 'test CA', days: 30, ca: true });
  const server = await issueCertificate({ commonName: 'localhost', days: 10, issuer: ca, hostnames: ['127.0.0.1'] });
  const files = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), caFile: join(dir, 'ca.pem') };
  await writeFile(files.certFile, server.cert);
  await writeFile(files.keyFile, server.key, { mode: 0o600 });
  await writeFile(files.caFile, ca.cert);
  const lines: string[] = [];
  const e = await startE2eControlPlane('wharf-tls-files-', {}, { tls: files, log: (l) => void lines.push(l) });
  cleanups.push(() => e.stop());
  const warning = lines.find((l) => l.startsWith('tls: the certificate'));
  assert.ok(warning !== undefined, lines.join('\n'));
  assert.match(warning, new RegExp(`${files.certFile.replace(/[/.]/g, '\\$&')} expires in (9|10) day\\(s\\)`));

  const metrics = await get(`${e.cp.apiUrl}/metrics`, ca.cert, e.adminToken);
  const value = Number(new RegExp(`^${TLS_EXPIRY_METRIC} (\\S+)$`, 'm').exec(metrics.text)?.[1]);
  const days = (value * 1000 - Date.now()) / 86_400_000;
  assert.ok(days > 9.9 && days <= 10, `the metric says the certificate ends in ${days} days`);

  const cliEnv = { ...process.env, ...e.cliEnv(e.adminToken), WHARF_HOME: dir };
  const ok = await run(process.execPath, [WHARF_BIN, 'env', 'list'], {
    env: { ...cliEnv, WHARF_CA_FILE: files.caFile },
  });
  assert.match(ok.stdout, /production/);
  const refused = await run(process.execPath, [WHARF_BIN, 'env', 'list'], { env: cliEnv }).then(
    () => assert.fail('without the CA the CLI must not connect'),
    (error: { code: number; stderr: string }) => error,
  );
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /cannot reach the Wharf API/);
});
