/**
 * Secrets end to end on a real control plane (SQLite, and PostgreSQL where one is reachable): a
 * secret with a random marker value is set through the API and the CLI, the demo model is deployed
 * with it as an environment variable, the replica process really has it (/proc/<pid>/environ), a
 * new version rolls a new revision whose diff says only that the version changed, and then the
 * marker is found NOWHERE else: not in any file under the control plane's home (SQLite file and
 * its -wal, logs, runtime state), not in PostgreSQL's rows, the control plane's log, API answers,
 * CLI output, events, revisions, diffs or exports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { startE2eControlPlane } from './support/control-plane-e2e.js';
import { createTestDatabase } from './support/postgres.js';
import { replicaPidsWithArg } from './support/process-scan.js';
import { WHARF_BIN } from './support/processes.js';
import { eventually } from './support/eventually.js';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [WHARF_BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`secrets end to end (${backend})`, () => {
    test('the value reaches the replica and nothing else', async (t) => {
      let databaseUrl: string | undefined;
      let drop: (() => Promise<void>) | undefined;
      if (backend === 'postgres') {
        const made = await createTestDatabase();
        if ('skip' in made) return t.skip(made.skip);
        databaseUrl = made.url;
        drop = made.drop;
      }
      const logs: string[] = [];
      const e2e = await startE2eControlPlane(
        `wharf-secrets-${backend}-`,
        { '1.0.0': {} },
        {
          log: (line) => logs.push(line),
          ...(databaseUrl === undefined ? {} : { databaseUrl }),
        },
      );
      const marker = `mk${randomBytes(12).toString('hex')}`;
      const marker2 = `mk${randomBytes(12).toString('hex')}`;
      const marker3 = `mk${randomBytes(12).toString('hex')}`;
      const seen: string[] = []; // every answer and output, searched for the markers at the end
      const api = async (path: string, init: Parameters<typeof e2e.api>[1] = {}) => {
        const r = await e2e.api(path, { ...init, as: init.as ?? e2e.adminToken });
        seen.push(JSON.stringify(r.body));
        return r;
      };
      const run = async (args: string[]) => {
        const r = await cli(args, e2e.cliEnv(e2e.adminToken));
        seen.push(r.out);
        return r;
      };
      const base = '/api/v1/environments/development';
      try {
        const put = await api(`${base}/secrets/db`, {
          method: 'PUT',
          json: { data: { PASSWORD: marker, USER: 'app' } },
        });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        assert.deepEqual(put.body.keys, ['PASSWORD', 'USER']);
        assert.equal(put.body.currentVersion, 1);

        // No credential: refused; bad input: a 400 naming the field, not echoing the value.
        const anonymous = await fetch(`${e2e.cp.apiUrl}${base}/secrets/db`);
        assert.equal(anonymous.status, 401);
        const tooBig = await api(`${base}/secrets/db`, {
          method: 'PUT',
          json: { data: { BIG: `${marker}${'x'.repeat(70_000)}` } },
        });
        assert.equal(tooBig.status, 400);
        assert.match(String((tooBig.body.error as { message: string }).message), /data\.BIG: value is \d+ bytes/);

        // The CLI: set from a file, then get and list; none prints a value.
        const file = join(e2e.home, 'api-key.txt');
        writeFileSync(file, marker2);
        const set = await run(['secret', 'set', 'api', '-e', 'development', '--from-file', `KEY=${file}`]);
        assert.equal(set.code, 0, set.out);
        assert.match(set.out, /development\/api version 1/);
        rmSync(file);
        const got = await run(['secret', 'get', 'db', '-e', 'development', '-o', 'json']);
        assert.equal(got.code, 0, got.out);
        assert.deepEqual((JSON.parse(got.out) as { keys: string[] }).keys, ['PASSWORD', 'USER']);
        const listed = await run(['secret', 'list', '-e', 'development']);
        assert.match(listed.out, /db\s+1\s+PASSWORD,USER/);

        // A reference to a missing secret or key is refused at create, naming the field.
        const env = [
          { name: 'DB_PASSWORD', secretRef: { name: 'db', key: 'PASSWORD' } },
          { name: 'API_KEY', secretRef: { name: 'api', key: 'KEY' } },
          { name: 'PLAIN', value: 'visible-value' },
        ];
        const body = (e: unknown) => ({
          name: 'risk',
          environment: 'development',
          model: { name: 'risk', version: '1.0.0' },
          configuration: { replicas: 1, env: e },
        });
        const missing = await api('/api/v1/deployments', {
          method: 'POST',
          json: body([{ name: 'X', secretRef: { name: 'db', key: 'NOPE' } }]),
        });
        assert.equal(missing.status, 400, JSON.stringify(missing.body));
        assert.match(
          JSON.stringify(missing.body),
          /configuration\.env\[0\]\.secretRef: secret \\"db\\" has no key \\"NOPE\\"/,
        );
        const unknown = await api('/api/v1/deployments', {
          method: 'POST',
          json: body([{ name: 'X', secretRef: { name: 'ghost', key: 'A' } }]),
        });
        assert.equal(unknown.status, 400);
        assert.match(JSON.stringify(unknown.body), /configuration\.env\[0\]\.secretRef: no secret named/);

        const created = await api('/api/v1/deployments', { method: 'POST', json: body(env) });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        await e2e.settled(
          'development',
          'risk',
          (d) => d.status.readyReplicas >= 1 && d.status.observedRevision === 1,
          'risk ready',
        );

        // The replica process has the values in its environment.
        const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        const replicaEnv = await eventually(
          () => {
            const pids = replicaPidsWithArg(e2e.home).filter((p) => existsSync(`/proc/${p}/environ`));
            return pids.map(environOf).find((vars) => vars.some((v) => v.startsWith('WHARF_REPLICA=')));
          },
          { timeoutMs: 20_000, message: 'a replica process' },
        );
        assert.ok(replicaEnv.includes(`DB_PASSWORD=${marker}`), 'the replica has DB_PASSWORD');
        assert.ok(replicaEnv.includes(`API_KEY=${marker2}`), 'the replica has API_KEY');
        assert.ok(replicaEnv.includes('PLAIN=visible-value'));
        assert.equal((await e2e.infer('development', 'risk')).status, 200);

        // A new version of the secret, re-applied: a new revision; the diff names the version only.
        assert.equal(
          (await api(`${base}/secrets/db`, { method: 'PUT', json: { data: { PASSWORD: marker3, USER: 'app' } } }))
            .status,
          200,
        );
        const same = await api(`${base}/deployments/risk`, { method: 'PATCH', json: { configuration: { env } } });
        assert.equal(same.status, 200, JSON.stringify(same.body));
        assert.equal(same.body.revision, 2);
        const diff = await api(`${base}/deployments/risk/diff?a=1&b=2`);
        const diffText = JSON.stringify(diff.body);
        assert.match(diffText, /configuration\.env\.DB_PASSWORD/);
        assert.match(diffText, /secret db key PASSWORD version 1.*secret db key PASSWORD version 2/);
        await e2e.settled(
          'development',
          'risk',
          (d) => d.status.readyReplicas >= 1 && d.status.observedRevision === 2,
          'revision 2 ready',
        );
        await eventually(
          () =>
            replicaPidsWithArg(e2e.home)
              .filter((p) => existsSync(`/proc/${p}/environ`))
              .map(environOf)
              .some(
                (vars) => vars.includes(`DB_PASSWORD=${marker3}`) && vars.includes('WHARF_WORKLOAD=development/risk@2'),
              )
              ? true
              : undefined,
          { timeoutMs: 30_000, message: 'a revision-2 replica with the new value' },
        );

        // Everything users can read about it.
        for (const path of [
          `${base}/deployments/risk`,
          `${base}/deployments/risk/revisions`,
          `${base}/deployments/risk/revisions/1`,
          `${base}/deployments/risk/revisions/2`,
          `${base}/deployments/risk/events`,
          `${base}/secrets`,
          `${base}/secrets/db`,
          '/api/v1/openapi.json',
        ])
          assert.equal((await api(path)).status, 200, path);
        const history = await run(['deploy', 'history', 'risk', '-e', 'development']);
        assert.equal(history.code, 0, history.out);
        const cliDiff = await run(['deploy', 'diff', 'risk', '-e', 'development', '1', '2']);
        assert.match(
          cliDiff.out,
          /configuration\.env\.DB_PASSWORD: "secret db key PASSWORD version 1" → "secret db key PASSWORD version 2"/,
        );
        for (const format of ['manifests', 'compose', 'helm', 'terraform']) {
          const out = join(e2e.home, `export-${format}`);
          const exported = await run(['export', 'risk', '-e', 'development', '--format', format, '--out', out]);
          assert.equal(exported.code, 0, exported.out);
          const text = filesUnder(out)
            .map((f) => readFileSync(f, 'utf8'))
            .join('\n');
          seen.push(text);
          if (format !== 'compose') assert.match(text, /secretKeyRef/, `${format} references the Secret by name`);
          else assert.match(text, /DB_PASSWORD/);
        }
        const rotated = await run(['secret', 'rotate-key']);
        assert.equal(rotated.code, 0, rotated.out);
        assert.match(rotated.out, /re-wrapped 3 data key\(s\)/);
        // Deleting a secret: gone from get and list, through the CLI.
        assert.equal(
          (await api(`${base}/secrets/spare`, { method: 'PUT', json: { data: { A: marker } } })).status,
          200,
        );
        const deleted = await run(['secret', 'delete', 'spare', '-e', 'development']);
        assert.equal(deleted.code, 0, deleted.out);
        assert.equal((await api(`${base}/secrets/spare`)).status, 404);
        assert.ok(!JSON.stringify((await api(`${base}/secrets`)).body).includes('"spare"'));
        const logsOf = await run(['logs', 'risk', '-e', 'development']);
        seen.push(logsOf.out);

        // PostgreSQL: every row of every table, as a dump would see them.
        if (databaseUrl !== undefined) {
          const client = new pg.Client({ connectionString: databaseUrl });
          await client.connect();
          try {
            const tables = await client.query<{ tablename: string }>(
              "select tablename from pg_tables where schemaname = 'public'",
            );
            for (const { tablename } of tables.rows) {
              const rows = await client.query(`select t::text as row from "${tablename}" t`);
              seen.push(rows.rows.map((r: { row: string }) => r.row).join('\n'));
            }
            assert.ok(seen.at(-1) !== undefined);
          } finally {
            await client.end();
          }
        }
      } finally {
        await e2e.cp.stop();
        // Every file the control plane left: the SQLite file and its -wal, logs, runtime and gateway state.
        const files = filesUnder(e2e.home);
        assert.ok(
          backend === 'postgres' || files.some((f) => f.endsWith('wharf.db')),
          `a SQLite file among ${files.length}`,
        );
        const holders = (m: string) => filesUnder(e2e.home).filter((f) => readFileSync(f).includes(m));
        // The scan itself must be able to find a value: a planted canary is found, and only there.
        const canary = `mk${randomBytes(12).toString('hex')}`;
        writeFileSync(join(e2e.home, 'runtime', 'canary.txt'), `x${canary}x`);
        assert.deepEqual(holders(canary), [join(e2e.home, 'runtime', 'canary.txt')]);
        for (const m of [marker, marker2, marker3])
          assert.deepEqual(holders(m), [], 'files holding a secret value in clear');
        for (const m of [marker, marker2, marker3]) {
          assert.ok(!logs.join('\n').includes(m), 'a secret value in the control plane log');
          seen.forEach((text, i) =>
            assert.ok(!text.includes(m), `a secret value in answer/output #${i}: ${text.slice(0, 200)}`),
          );
        }
        await e2e.stop();
        await drop?.();
      }
    });
  });
}
