/** `wharf fetch-artifact`: a model pod's init container (download by digest, verify, then exit 0). */
import type { Command } from 'commander';
import { fetchArtifact } from '../runtime/kubernetes/artifact-fetch.js';
import { action } from './run-action.js';

/** Registers the command on the program. */
export function registerFetchArtifact(program: Command): void {
  program
    .command('fetch-artifact')
    .description(
      'Download a model artifact by digest and verify its sha256 (the init container of a Kubernetes model pod)',
    )
    .requiredOption('--url <url>', 'where to download it, e.g. http://wharf:8080/api/v1/blobs/sha256:…')
    .requiredOption('--digest <digest>', 'sha256:<64 hex digits> the bytes must hash to')
    .requiredOption('--out <file>', 'where to write it once verified')
    .action(
      action(async (f: { url: string; digest: string; out: string }) => {
        const bytes = await fetchArtifact({ ...f, log: (line) => process.stderr.write(`${line}\n`) });
        process.stdout.write(`fetched ${f.digest} (${bytes} bytes) to ${f.out}\n`);
      }),
    );
}
