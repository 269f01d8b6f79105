// The layering of src/: the folders each folder of src/ may import. `eslint.config.js` turns this table into
// no-restricted-imports rules, so an import against the direction fails `npm run lint` (and `npm test`).
// Read it top down: a folder imports only the folders named on its line (and itself), never one that names it.

/** Folder of src/ -> the folders of src/ it may import. '*' = any: the places that pick implementations. */
export const LAYERS = {
  core: [],
  protocol: ['core'],
  serving: ['core', 'protocol'],
  batch: ['core', 'protocol'],
  gateway: ['core', 'protocol'],
  metrics: ['core', 'protocol'],
  store: ['core'],
  runtime: ['core', 'protocol'],
  workloads: ['core', 'protocol', 'runtime', 'serving'],
  registry: ['core', 'store', 'workloads'],
  services: ['core', 'protocol', 'store', 'registry', 'runtime', 'workloads', 'metrics'],
  controller: ['core', 'protocol', 'store', 'registry', 'runtime', 'workloads', 'metrics', 'services'],
  api: ['core', 'protocol', 'services'],
  export: ['core', 'protocol', 'runtime', 'workloads', 'services'],
  demo: ['core'],
  server: '*',
  cli: '*',
};

/**
 * One eslint config object per folder of src/, forbidding relative imports that reach a folder of src/ not in
 * its line of {@link LAYERS}. Imports are matched by path segment: `../store/store.js` from src/api/ names
 * the folder `store`.
 */
export function layeringConfigs() {
  const folders = Object.keys(LAYERS);
  return Object.entries(LAYERS)
    .filter(([, allowed]) => allowed !== '*')
    .map(([folder, allowed]) => {
      const forbidden = folders.filter((f) => f !== folder && !allowed.includes(f));
      return {
        files: [`src/${folder}/**/*.ts`],
        ignores: ['**/*.test.ts'],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: [
                {
                  regex: `^(\\.\\./)+(${forbidden.join('|')})/`,
                  message: `src/${folder}/ may import only ${[folder, ...allowed].map((a) => `src/${a}/`).join(', ')} (scripts/layering.js).`,
                },
              ],
            },
          ],
        },
      };
    });
}
