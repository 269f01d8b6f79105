/**
 * `wharf demo-models` writes the demo models; `wharf demo` (what `npm start` runs until the control
 * plane exists) writes them under the Wharf home and serves the readmission model.
 */
import { resolve, join } from 'node:path';
import type { Command } from 'commander';
import { writeDemoModels } from '../demo/write-demo-models.js';
import { modelInferPath } from '../protocol/oip-paths.js';
import { integer } from './options.js';
import { serve } from './serve-model.js';

/** Registers `demo-models` and `demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo-models')
    .description('Write the demo models (readmission.onnx, mlp.onnx) into a folder')
    .requiredOption('--out <dir>', 'folder to write into')
    .action(async (flags: { out: string }) => {
      const paths = await writeDemoModels(resolve(flags.out));
      process.stdout.write(`${paths.readmission}\n${paths.mlp}\n`);
    });

  program
    .command('demo')
    .description('Serve the demo readmission model on the model server')
    .option('--home <dir>', 'Wharf home folder (default ./.wharf or $WHARF_HOME)')
    .option('--port <port>', 'port to listen on', integer(0, 65535), 8000)
    .action(async (flags: { home?: string; port: number }) => {
      const home = resolve(flags.home ?? process.env.WHARF_HOME ?? '.wharf');
      const { readmission } = await writeDemoModels(join(home, 'models'));
      await serve({ modelPath: readmission, name: 'readmission', version: '1.0.0', port: flags.port }, (server) => {
        const url = `${server.url}${modelInferPath('readmission')}`;
        const row = Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? 0.5 : -0.25));
        const body = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: row }] });
        return [
          `Wharf demo: model 'readmission' 1.0.0 is served at ${server.url}`,
          'Try it:',
          `  curl -s ${url} -H 'content-type: application/json' -d '${body}'`,
          'Press Ctrl-C to stop.',
        ].join('\n');
      });
    });
}
