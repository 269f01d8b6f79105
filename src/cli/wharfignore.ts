/**
 * `.wharfignore`: which files of a folder `wharf app push` leaves out of the bundle, in
 * gitignore's syntax (the common part of it): one pattern a line, `#` comments and blank lines
 * skipped, `!` re-includes, a trailing `/` matches folders only, a leading or inner `/` anchors
 * the pattern at the folder's root (else it matches at any depth), `*` and `?` match within one
 * path segment and `**` across segments. The last matching line wins. `.git` is always left out.
 * Pure.
 *
 * @example
 *   const ignored = parseWharfignore('node_modules/\n*.pyc\n!keep.pyc');
 *   ignored('a/b.pyc', false) // true
 */

interface Rule {
  readonly negate: boolean;
  readonly dirOnly: boolean;
  readonly regex: RegExp;
}

/** A predicate: is `path` (relative, '/'-separated) ignored; `dir` says whether it is a folder. */
export type IgnoreRule = (path: string, dir: boolean) => boolean;

/** The rules of a `.wharfignore` text (see the module comment). */
export function parseWharfignore(text: string): IgnoreRule {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    if (line === '') continue;
    const body = globToRegex(line);
    rules.push({ negate, dirOnly, regex: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`) });
  }
  return (path, dir) => {
    if (path === '.git' || path.startsWith('.git/') || path.split('/').includes('.git')) return true;
    let ignored = false;
    for (const rule of rules) {
      if (rule.dirOnly && !dir) continue;
      if (rule.regex.test(path)) ignored = !rule.negate;
    }
    return ignored;
  };
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` any leading folders, `/**` everything below, `**` alone anything.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) out += escape(glob[++i]!);
    else out += escape(c);
  }
  return out;
}

function escape(c: string): string {
  return /[.+^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
}
