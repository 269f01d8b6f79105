/**
 * The README's Layout section is the newcomer's map of src/: every folder under src/ appears there, and
 * every folder it names exists. A folder nested in another is named on its parent's line (`local/`) or on
 * a line of its own (`src/runtime/local/`); an entry continues on the indented lines below it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './support/processes.js';

function folders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [join(dir, e.name), ...folders(join(dir, e.name))]);
}

function layoutBlock(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Layout$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, 'README has a "## Layout" section');
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the Layout section holds a code block');
  return block.split('\n').filter((l) => l.trim() !== '');
}

/** The README entry that names `path/`: its line and the indented lines that continue it. */
function lineOf(lines: string[], path: string): string | undefined {
  const at = lines.findIndex((l) => l.split(/\s+/)[0] === `${path}/`);
  if (at < 0) return undefined;
  const end = lines.findIndex((l, i) => i > at && !/^\s/.test(l));
  return lines.slice(at, end < 0 ? undefined : end).join(' ');
}

test('README Layout names every folder under src/', () => {
  const lines = layoutBlock();
  const missing = folders(join(REPO_ROOT, 'src'))
    .map((f) => relative(REPO_ROOT, f).split('\\').join('/'))
    .filter((path) => {
      if (lineOf(lines, path)) return false;
      const parts = path.split('/');
      // A nested folder may be named on an ancestor's line by its path below that ancestor.
      for (let i = parts.length - 1; i >= 2; i--) {
        const ancestor = lineOf(lines, parts.slice(0, i).join('/'));
        const below = `${parts.slice(i).join('/')}/`;
        if (ancestor && new RegExp(`(^|[\\s(·,])${below.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(ancestor))
          return false;
      }
      return true;
    });
  assert.deepEqual(missing, [], `folders under src/ missing from the README's Layout: ${missing.join(', ')}`);
});

test('every src/ folder the README Layout names exists', () => {
  const existing = new Set(folders(join(REPO_ROOT, 'src')).map((f) => relative(REPO_ROOT, f).split('\\').join('/')));
  const named = layoutBlock()
    .map((l) => l.split(/\s+/)[0]!)
    .filter((p) => p.startsWith('src/'))
    .map((p) => p.replace(/\/$/, ''));
  for (const path of named) assert.ok(existing.has(path), `README Layout names ${path}/, which does not exist`);
});
