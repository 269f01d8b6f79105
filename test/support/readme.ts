/**
 * Reads the README's fenced examples so a test can run them as written. A block may be preceded by
 * a directive comment that the rendered README does not show:
 *   <!-- readme-test: skip REASON -->   not run here (the reason is printed by the test)
 *   <!-- readme-test: file NAME -->     written to NAME in the tour's folder before later blocks run
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One fenced block of the README. */
export interface ReadmeBlock {
  readonly language: string;
  readonly text: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
  /** The nearest heading above the block. */
  readonly section: string;
  readonly skip?: string;
  readonly file?: string;
}

const DIRECTIVE = /^<!--\s*readme-test:\s*(skip|file)\s+(.+?)\s*-->$/;

/** Every fenced block of `README.md` at `repoRoot`, in document order. */
export function readmeBlocks(repoRoot: string): ReadmeBlock[] {
  const lines = readFileSync(join(repoRoot, 'README.md'), 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  let section = '';
  let directive: { skip?: string; file?: string } = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^#+\s+(.*)$/.exec(line);
    if (heading) section = heading[1]!;
    const d = DIRECTIVE.exec(line.trim());
    if (d) {
      directive = d[1] === 'skip' ? { skip: d[2]! } : { file: d[2]! };
      continue;
    }
    const fence = /^```(\S*)\s*$/.exec(line);
    if (!fence) {
      if (line.trim() !== '') directive = {};
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ language: fence[1]!, text: body.join('\n'), line: start + 1, section, ...directive });
    directive = {};
  }
  return blocks;
}

/** The commands of a shell block: comment-only lines dropped, `\` continuations joined. */
export function shellCommands(block: ReadmeBlock): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const raw of block.text.split('\n')) {
    const line = pending + raw;
    if (/\\\s*$/.test(line)) {
      pending = line.replace(/\\\s*$/, ' ');
      continue;
    }
    pending = '';
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    commands.push(line.trim());
  }
  return commands;
}

/**
 * A YAML block split into the alternatives it shows: a block whose top-level keys repeat (several
 * `strategy:` lines, say) lists alternatives, each checked on its own.
 */
export function yamlAlternatives(block: ReadmeBlock): string[] {
  const parts: string[][] = [];
  const seen = new Set<string>();
  for (const line of block.text.split('\n')) {
    const key = /^([A-Za-z][\w-]*):/.exec(line)?.[1];
    if (key !== undefined && (seen.has(key) || parts.length === 0)) {
      parts.push([]);
      seen.clear();
    }
    if (key !== undefined) seen.add(key);
    if (parts.length === 0) parts.push([]);
    parts[parts.length - 1]!.push(line);
  }
  return parts.map((p) => p.join('\n')).filter((p) => p.trim() !== '');
}
