// Lint rules: typescript-eslint's recommended type-aware set, a few that catch real bugs in async server code,
// and the layering of src/ (scripts/layering.js).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layeringConfigs } from './scripts/layering.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.wharf/', 'var/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  // Dependencies point one way: the table in scripts/layering.js, one rule per folder of src/.
  ...layeringConfigs(),
);
