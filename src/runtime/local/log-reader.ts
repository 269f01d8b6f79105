/**
 * Reading replica log files back as {@link LogLine}s, including the rotated generations, and
 * following them as they grow and rotate.
 *
 * Replicas write straight into the files (see log-files.ts), so lines carry no timestamp of their
 * own: `time` is the file's modification time for lines already on disk and the moment the line
 * was read when following. Lines are grouped per replica and stream (stdout, then stderr), oldest
 * first; `tail` keeps the last N lines of each such group, like `kubectl logs --tail` per container.
 * Each read of a file set happens while the file cannot rotate (see {@link RotationTracker}), so
 * no line is read twice or skipped because a rotation ran in the middle; the lines of one read are
 * gathered in memory, at most `logFiles × logMaxBytes` per stream.
 */
import { open, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { LogLine } from '../runtime.js';
import { generationPath, type RotationTracker, sizeOf } from './log-files.js';

/** One replica stream's current log file. */
export interface LogSource {
  readonly replica: string;
  readonly stream: 'stdout' | 'stderr';
  readonly path: string;
}

/** How many generations exist per file (see rotateIfNeeded), how many lines to keep, and the rotation lock. */
export interface ReadOptions {
  readonly generations: number;
  readonly tail?: number;
  readonly tracker: RotationTracker;
}

/** Options for {@link followLogs}. */
export interface FollowOptions extends ReadOptions {
  readonly pollMs: number;
  readonly signal?: AbortSignal;
}

/** Where a follower stands in one file set. */
interface Cursor {
  /** Byte offset in the current file up to which lines were delivered. */
  offset: number;
  /** The file's rotation count when `offset` was taken. */
  rotations: number;
}

const CHUNK = 64 * 1024;
/** A "line" longer than this without a newline is emitted in pieces rather than buffered forever. */
const MAX_LINE = 1024 * 1024;

/** Every line now on disk for `sources`. */
export async function* readLogs(sources: readonly LogSource[], options: ReadOptions): AsyncGenerator<LogLine> {
  for (const source of sources) yield* await existing(source, options, 'yield');
}

/**
 * The lines on disk, then new lines as they are written, until `signal` aborts or `sources()`
 * returns undefined (the workload is gone). `sources` is asked again on every poll, so replicas
 * added later are followed from their first line. When the file rotated since the last poll, the
 * unread rest is taken from the generation it moved to (`.1` after one rotation, `.2` after two);
 * only more rotations between two polls than generations kept can lose lines.
 */
export async function* followLogs(
  sources: () => readonly LogSource[] | undefined,
  options: FollowOptions,
): AsyncGenerator<LogLine> {
  const cursors = new Map<string, Cursor>();
  for (const source of sources() ?? []) {
    const cursor: Cursor = { offset: 0, rotations: 0 };
    cursors.set(source.path, cursor);
    for (const line of await existing(source, options, 'keep', cursor)) {
      if (options.signal?.aborted) return;
      yield line;
    }
  }
  for (;;) {
    try {
      await delay(options.pollMs, undefined, { signal: options.signal });
    } catch {
      return; // aborted
    }
    const current = sources();
    if (current === undefined) return;
    for (const path of [...cursors.keys()]) if (!current.some((s) => s.path === path)) cursors.delete(path);
    for (const source of current) {
      let cursor = cursors.get(source.path);
      if (!cursor)
        cursors.set(source.path, (cursor = { offset: 0, rotations: options.tracker.rotations(source.path) }));
      for (const line of await newLines(source, options, cursor)) {
        if (options.signal?.aborted) return;
        yield line;
      }
    }
  }
}

/** Lines written since `cursor`, across any rotations since; advances the cursor. */
function newLines(source: LogSource, options: ReadOptions, cursor: Cursor): Promise<LogLine[]> {
  return options.tracker.exclusive(source.path, async () => {
    const now = new Date();
    const texts: string[] = [];
    const rotated = options.tracker.rotations(source.path) - cursor.rotations;
    if (rotated > 0) {
      // The unread rest moved to generation `rotated`; younger generations are entirely new.
      const oldest = Math.min(rotated, options.generations - 1);
      for (let g = oldest; g >= 1; g--) {
        const from = { offset: g === rotated ? cursor.offset : 0 };
        texts.push(...(await linesIn(generationPath(source.path, g), from, Number.MAX_SAFE_INTEGER, 'yield')));
      }
      cursor.offset = 0;
      cursor.rotations += rotated;
    }
    texts.push(...(await linesIn(source.path, cursor, (await sizeOf(source.path)) ?? 0, 'keep')));
    return texts.map((text) => line(source, text, now));
  });
}

/**
 * The lines of the rotated generations (oldest first) and of the current file, honouring `tail`.
 * With a `cursor`, it is set to where a follower continues.
 */
function existing(
  source: LogSource,
  options: ReadOptions,
  partial: 'yield' | 'keep',
  cursor?: Cursor,
): Promise<LogLine[]> {
  return options.tracker.exclusive(source.path, async () => {
    const lines: LogLine[] = [];
    for (let g = options.generations - 1; g >= 0; g--) {
      const path = generationPath(source.path, g);
      const mtime = await stat(path).then(
        (s) => s.mtime,
        () => undefined,
      );
      if (!mtime) continue;
      const at = g === 0 && cursor ? cursor : { offset: 0 };
      for (const text of await linesIn(path, at, Number.MAX_SAFE_INTEGER, g === 0 ? partial : 'yield')) {
        lines.push(line(source, text, mtime));
      }
    }
    if (cursor) cursor.rotations = options.tracker.rotations(source.path);
    return options.tail === undefined ? lines : options.tail > 0 ? lines.slice(-options.tail) : [];
  });
}

/**
 * The complete lines in bytes [cursor.offset, end) of `path`, advancing `cursor.offset` past them.
 * An unterminated last line is included (`partial: 'yield'`) or left for the next read (`'keep'`,
 * when following a file that is still being written).
 */
async function linesIn(
  path: string,
  cursor: { offset: number },
  end: number,
  partial: 'yield' | 'keep',
): Promise<string[]> {
  const texts: string[] = [];
  if (end <= cursor.offset) return texts;
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return texts;
  try {
    let pending = Buffer.alloc(0);
    let position = cursor.offset;
    while (position < end) {
      const chunk = Buffer.alloc(Math.min(CHUNK, end - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      pending =
        pending.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
      let newline: number;
      while ((newline = pending.indexOf(10)) >= 0 || pending.length > MAX_LINE) {
        const cut = newline >= 0 ? newline : MAX_LINE;
        const text = pending.subarray(0, cut).toString('utf8');
        pending = pending.subarray(newline >= 0 ? cut + 1 : cut);
        texts.push(text.endsWith('\r') ? text.slice(0, -1) : text);
      }
      cursor.offset = position - pending.length;
    }
    if (partial === 'yield' && pending.length > 0) {
      texts.push(pending.toString('utf8'));
      cursor.offset = position;
    }
  } finally {
    await handle.close();
  }
  return texts;
}

function line(source: LogSource, text: string, time: Date): LogLine {
  return { replica: source.replica, stream: source.stream, time: time.toISOString(), text };
}
