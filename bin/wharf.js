#!/usr/bin/env node
// The `wharf` command. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `job-worker` (started by the job controller, many times per job) skips loading every other command.
const entry = new URL(
  process.argv[2] === 'job-worker' ? '../dist/src/cli/job-worker-main.js' : '../dist/src/cli/main.js',
  import.meta.url,
);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('wharf: not built yet; run `npm run build` (npm ci does it for you)\n');
  process.exit(1);
}
await import(entry.href);
