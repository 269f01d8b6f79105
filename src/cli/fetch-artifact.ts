/**
 * `wharf fetch-artifact`: the init container of a Kubernetes model pod (download by digest,
 * verify, then exit 0), and with `--unpack` of an application or worker pod (the same for its
 * bundle, then unpacked into `--out`).
 */
import type { Command } from 'commander';
import { fetchArtifact } from '../runtime/kubernetes/artifact-fetch.js';
import { fetchBundle } from '../runtime/kubernetes/bundle-fetch.js';
import { action } from './run-action.js';

/** Registers the command on the program. */
export function registerFetchArtifact(program: Command): void {
  program
    .command('fetch-artifact')
    .description(
      'Download a model artifact or an application bundle by digest and verify its sha256 (the init container of a Kubernetes pod)',
    )
    .requiredOption('--url <url>', 'where to download it, e.g. http://wharf:8080/api/v1/blobs/sha256:…')
    .requiredOption('--digest <digest>', 'sha256:<64 hex digits> the bytes must hash to')
    .requiredOption('--out <path>', 'where to write it once verified (with --unpack: the directory to unpack into)')
    .option('--unpack', 'the artifact is a bundle (.tar.gz): empty --out, then unpack it there')
    .action(
      action(async (f: { url: string; digest: string; out: string; unpack?: boolean }) => {
        const log = (line: string): void => void process.stderr.write(`${line}\n`);
        if (f.unpack) {
          const { bytes, entries } = await fetchBundle({ url: f.url, digest: f.digest, out: f.out, log });
          process.stdout.write(`fetched ${f.digest} (${bytes} bytes) and unpacked ${entries} entries into ${f.out}\n`);
          return;
        }
        const bytes = await fetchArtifact({ url: f.url, digest: f.digest, out: f.out, log });
        process.stdout.write(`fetched ${f.digest} (${bytes} bytes) to ${f.out}\n`);
      }),
    );
}
