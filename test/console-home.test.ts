/**
 * The console's first page in a real browser (Debian's Chromium through playwright-core): after
 * `wharf up` deploys the demo, the page lists it and, as it refreshes, shows it running.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { ensureDebianPackages } from './support/debian.js';
import { pidsWithArg } from './support/process-scan.js';
import { adminAuth, startWharf, type WharfProcess, untilWharfUp } from './support/processes.js';

const home = mkdtempSync(join(tmpdir(), 'wharf-console-'));
let up: WharfProcess | undefined;
let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  if (up && up.child.exitCode === null) {
    up.child.kill('SIGTERM');
    await up.exited;
  }
  for (const pid of pidsWithArg(home)) process.kill(pid, 'SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

test('the first page lists the demo deployment and shows it running', async (t) => {
  if (!ensureDebianPackages(t, ['chromium'])) return;
  up = startWharf(['up', '--home', home, '--port', '0', '--gateway-port', '0']);
  const { api } = await untilWharfUp(up);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  // The console has no login page yet: the browser sends the admin token as a header, as a proxy in front of it would.
  const page = await browser.newPage({ extraHTTPHeaders: adminAuth(home) });
  await page.goto(api);
  assert.equal(await page.title(), 'Wharf · deployments');
  const row = page.locator('tr[data-deployment="development/readmission"]');
  await row.waitFor({ timeout: 20_000 });
  assert.match(await row.innerText(), /readmission\s+development\s+readmission 1\.0\.0\s+1/);
  // The page refreshes itself; the phase cell reaches "running" once both replicas are ready.
  await page.locator('tr[data-deployment="development/readmission"] td.phase.running').waitFor({ timeout: 40_000 });
  assert.match(await row.innerText(), /2\/2\s+running/);
  assert.match(await row.locator('code').innerText(), /^http:\/\/127\.0\.0\.1:\d+\/development\/readmission$/);
});
