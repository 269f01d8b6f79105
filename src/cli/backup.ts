/**
 * `wharf backup --out FILE` and `wharf restore FILE`: both work on the home (and its database)
 * directly, like `sqlite3 .backup` or `pg_dump`, not through the API: a backup needs the files
 * beside the database (blobs, audit checkpoints, keys), and a restore runs before any control
 * plane exists. The backup is consistent while `wharf up` runs on the same home; the restore
 * refuses a home or a database that is not empty. See `services/backup/` for the archive.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openBlobStore } from '../server/blob-store-selection.js';
import { createBackup } from '../services/backup/create-backup.js';
import { homeFile } from '../services/backup/home-files.js';
import { restoreBackup } from '../services/backup/restore-backup.js';
import { TargetNotEmptyError } from '../store/backup/store-dump.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import { action } from './run-action.js';

function homeOf(flag: string | undefined): string {
  return resolve(flag ?? process.env.WHARF_HOME ?? '.wharf');
}

// The registry's S3 location, as `wharf up` takes it; undefined: blobs live in the home.
function blobStoreOf(flag: string | undefined): string | undefined {
  return flag ?? (process.env.WHARF_BLOB_STORE || undefined);
}

/** Registers `backup` and `restore`. */
export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description(
      'Write a consistent snapshot of the store, its blobs and the audit trail to one archive (while the platform runs)',
    )
    .requiredOption('--out <file>', 'the archive to write (.tar.gz); refused when it exists')
    .option('--home <dir>', 'data folder (default ./.wharf or $WHARF_HOME)')
    .option('--database-url <url>', 'the PostgreSQL store (default $WHARF_DATABASE_URL; none: SQLite in the home)')
    .option(
      '--blob-store <url>',
      'the registry in S3-compatible storage, s3://bucket/prefix (default $WHARF_BLOB_STORE; none: the home)',
    )
    .option(
      '--include-keys',
      'also carry secret.key and the audit signing key (keep the archive as secret as they are)',
    )
    .action(
      action(
        async (flags: {
          out: string;
          home?: string;
          databaseUrl?: string;
          blobStore?: string;
          includeKeys?: boolean;
        }) => {
          const home = homeOf(flags.home);
          const selection = await openBlobStore({ home, blobStore: blobStoreOf(flags.blobStore) });
          const url = flags.databaseUrl ?? process.env.WHARF_DATABASE_URL ?? '';
          const manifest = await createBackup({
            home,
            store: url === '' ? { backend: 'sqlite', path: homeFile(home, 'database') } : { backend: 'postgres', url },
            blobs: selection.blobs,
            out: flags.out,
            includeKeys: flags.includeKeys === true,
            ...(process.env.WHARF_AUDIT_KEY_FILE ? { auditKeyFile: process.env.WHARF_AUDIT_KEY_FILE } : {}),
          });
          const { counts } = manifest.store;
          process.stdout.write(
            `backup ${flags.out}: ${counts.objects} objects, ${counts.changes} changes, ${manifest.blobs.length} blobs, ` +
              `audit head ${manifest.audit.head?.seq ?? 0} (${manifest.audit.checkpoints} checkpoints), store checksum ${manifest.store.checksum.slice(0, 16)}…` +
              `${flags.includeKeys === true ? ' (keys included: keep this file secret)' : ''}\n`,
          );
          selection.close();
        },
      ),
    );

  program
    .command('restore')
    .description('Bring a backup back into an empty home (and an empty database with --database-url)')
    .argument('<file>', 'an archive written by `wharf backup`')
    .option('--home <dir>', 'the empty data folder to restore into (default ./.wharf or $WHARF_HOME)')
    .option(
      '--database-url <url>',
      'an empty PostgreSQL database (default $WHARF_DATABASE_URL; none: SQLite in the home)',
    )
    .option(
      '--blob-store <url>',
      'put the blobs into S3-compatible storage, s3://bucket/prefix (default $WHARF_BLOB_STORE; none: the home)',
    )
    .action(
      action(async (file: string, flags: { home?: string; databaseUrl?: string; blobStore?: string }) => {
        const home = homeOf(flags.home);
        const url = flags.databaseUrl ?? process.env.WHARF_DATABASE_URL ?? '';
        const blobStore = blobStoreOf(flags.blobStore);
        const selection = blobStore === undefined ? undefined : await openBlobStore({ home, blobStore });
        try {
          const { manifest, keysRestored } = await restoreBackup({
            archive: file,
            home,
            databaseUrl: url,
            ...(selection === undefined ? {} : { blobs: selection.blobs }),
          });
          process.stdout.write(
            `restored ${file} into ${home}${url === '' ? '' : ' and the PostgreSQL database'}: ` +
              `${manifest.store.counts.objects} objects, ${manifest.blobs.length} blobs, audit head ${manifest.audit.head?.seq ?? 0}` +
              `${keysRestored.length > 0 ? `; keys: ${keysRestored.join(', ')}` : ''}\n`,
          );
          if (!manifest.keys.secretKey)
            process.stdout.write(
              'secrets: the backup carries no secret.key; put the original key in place (or set WHARF_SECRET_KEY) before `wharf up`, or secrets cannot be read\n',
            );
        } catch (error) {
          if (error instanceof TargetNotEmptyError) throw new CliError(error.message, EXIT_CODES.conflict.code);
          throw error;
        } finally {
          selection?.close();
        }
      }),
    );
}
