/**
 * How the CLI reads a password: from standard input with `--password-stdin` (the whole input, its
 * final newline dropped: `printf %s "$PW" | wharf login --password-stdin`), or from a prompt on the
 * terminal with echo off. Never from a flag, where it would land in shell history and `ps`.
 */
import { createInterface } from 'node:readline';
import { usageError } from './exit-codes.js';

/** All of standard input, without one trailing newline. */
export async function readStdinSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks `question` on the terminal; with `hidden`, what is typed is not shown. */
export function prompt(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY)
    return Promise.reject(
      usageError(`${question.replace(/: $/, '')}: standard input is not a terminal; use --password-stdin`),
    );
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let muted = false;
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput.bind(rl);
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (!muted || s.includes('\n')) write(muted ? '\n' : s);
    };
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
    muted = hidden;
    rl.on('SIGINT', () => {
      rl.close();
      reject(new Error('cancelled'));
    });
  });
}

/** The password: from stdin with `--password-stdin`, else a hidden prompt. */
export async function readPassword(fromStdin: boolean | undefined, question = 'Password: '): Promise<string> {
  return fromStdin === true ? readStdinSecret() : prompt(question, true);
}
