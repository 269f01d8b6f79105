/**
 * What an application pod's init container does (`wharf fetch-artifact --unpack`): download the
 * revision's bundle (a `.tar.gz` of the app's code) from the Wharf registry by digest, verify its
 * sha256 while it streams (as for a model artifact, `artifact-fetch.ts`), then unpack it into the
 * pod's bundle volume. The directory is emptied first, so a restarted init container never leaves
 * files of an earlier, interrupted attempt beside the bundle's; the archive itself is removed once
 * unpacked. Entries are kept inside the directory (no absolute paths, no `..`, no links out).
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { x as extract } from 'tar';
import { InvalidArgumentError } from '../../core/errors.js';
import { fetchArtifact, type FetchArtifactOptions } from './artifact-fetch.js';

/** Name of the downloaded archive inside the directory while it is unpacked. */
const ARCHIVE = '.wharf-bundle.tar.gz';

/** Options of {@link fetchBundle}: those of a download, with `out` the directory to unpack into. */
export type FetchBundleOptions = FetchArtifactOptions;

/** Downloads, verifies and unpacks; resolves with the archive's byte count and the entries unpacked. */
export async function fetchBundle(options: FetchBundleOptions): Promise<{ bytes: number; entries: number }> {
  const dir = options.out;
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
  const archive = join(dir, ARCHIVE);
  try {
    const bytes = await fetchArtifact({ ...options, out: archive });
    let entries = 0;
    try {
      await extract({
        file: archive,
        cwd: dir,
        strict: true,
        // The pod's user owns what it unpacks; modes are kept (scripts stay executable).
        preserveOwner: false,
        onReadEntry: () => void entries++,
      });
    } catch (err) {
      throw new InvalidArgumentError(
        `bundle ${options.digest} is not a tar archive (.tar or .tar.gz): ${(err as Error).message}`,
      );
    }
    return { bytes, entries };
  } finally {
    await rm(archive, { force: true });
  }
}
