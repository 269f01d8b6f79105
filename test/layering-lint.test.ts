/**
 * The layering rule (scripts/layering.js, run by `npm run lint`) refuses an import against the direction and
 * lets the allowed ones through. Linted from text, so the tree itself never has to hold a bad import.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { REPO_ROOT } from './support/processes.js';

interface LayeringModule {
  LAYERS: Record<string, string[] | '*'>;
  layeringConfigs(): object[];
}

async function lint(file: string, code: string): Promise<string[]> {
  const { layeringConfigs } = (await import(join(REPO_ROOT, 'scripts', 'layering.js'))) as LayeringModule;
  const eslint = new ESLint({
    cwd: REPO_ROOT,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...layeringConfigs()],
  });
  const [result] = await eslint.lintText(code, { filePath: join(REPO_ROOT, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test('an import against the direction fails lint, naming the rule and what the folder may import', async () => {
  const cases: [string, string][] = [
    ['src/core/x.ts', "import type { Store } from '../store/store.js';"],
    ['src/protocol/x.ts', "import { GatewayServer } from '../gateway/gateway-server.js';"],
    ['src/gateway/x.ts', "import { Controller } from '../controller/controller.js';"],
    ['src/serving/x.ts', "export { x } from '../runtime/runtime.js';"],
    ['src/api/x.ts', "import type { Runtime } from '../runtime/runtime.js';"],
    ['src/api/x.ts', "import { Controller } from '../controller/controller.js';"],
    ['src/controller/reconcilers/x.ts', "import { createApp } from '../../api/app.js';"],
    ['src/runtime/local/x.ts', "import { x } from '../../store/store.js';"],
  ];
  for (const [file, code] of cases) {
    const messages = await lint(file, code);
    assert.equal(messages.length, 1, `${file}: ${code} -> ${messages.join('; ')}`);
    assert.match(messages[0]!, /^no-restricted-imports: .*may import only/);
  }
});

test('imports along the direction, within a folder and of packages pass', async () => {
  const cases: [string, string][] = [
    ['src/core/x.ts', "import { y } from './errors.js';\nimport { z } from 'zod';"],
    ['src/protocol/x.ts', "import { WharfError } from '../core/errors.js';"],
    ['src/gateway/x.ts', "import type { RouteTable } from '../protocol/route-table.js';"],
    ['src/api/x.ts', "import { y } from '../services/x.js';\nimport { z } from '../core/errors.js';"],
    [
      'src/runtime/local/x.ts',
      "import type { Runtime } from '../runtime.js';\nimport { y } from '../../core/errors.js';",
    ],
    ['src/server/x.ts', "import { y } from '../controller/controller.js';\nimport { z } from '../api/app.js';"],
  ];
  for (const [file, code] of cases) assert.deepEqual(await lint(file, code), [], `${file}: ${code}`);
});
