/**
 * The CLI's exit codes, in one place: scripts branch on them, `wharf --help` lists them and the
 * README's table is checked against this list by a test. An API answer maps by its status.
 */
import { ApiCallError } from './client.js';

/** A failure whose exit code is chosen where it is thrown (a bad flag value, a missing file). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Exit codes and what each means; the order is the order of the help text and the README table. */
export const EXIT_CODES = {
  ok: { code: 0, meaning: 'success' },
  failed: {
    code: 1,
    meaning: 'the command failed: a deployment failed or --wait timed out, a port is in use, any other error',
  },
  usage: {
    code: 2,
    meaning:
      'usage: an unknown command or flag, a bad flag value, a missing or invalid input file, a request the API refused as invalid (400)',
  },
  notFound: { code: 3, meaning: 'not found: the environment, deployment, model or version does not exist (404)' },
  conflict: {
    code: 4,
    meaning: 'conflict: the name is taken or the object changed since it was read (stale resourceVersion) (409)',
  },
  server: { code: 5, meaning: 'server: the API could not be reached or answered a server error (5xx)' },
} as const;

/** The exit code for an error that reached the top of a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ApiCallError) {
    if (error.status === 0 || error.status >= 500) return EXIT_CODES.server.code;
    if (error.status === 404) return EXIT_CODES.notFound.code;
    if (error.status === 409 || error.status === 412) return EXIT_CODES.conflict.code;
    if (error.status === 400 || error.status === 413 || error.status === 422) return EXIT_CODES.usage.code;
  }
  return EXIT_CODES.failed.code;
}

/** The exit-code table as `wharf --help` prints it. */
export function exitCodesHelp(): string {
  const rows = Object.values(EXIT_CODES).map((e) => `  ${String(e.code).padEnd(3)}${e.meaning}`);
  return `\nExit codes:\n${rows.join('\n')}\n`;
}

/** A usage error: the command line or an input file is wrong (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_CODES.usage.code);
}
