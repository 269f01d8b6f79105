/**
 * The rules for the names of users, service accounts, tokens and groups. A user or service-account
 * name is normalised to lowercase before anything else sees it, so `Alice` and `alice` are one name
 * (the store keys by the normalised name and refuses a second). Pure.
 */
import { fail } from '../validation.js';

const PRINCIPAL_NAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

/** `name` lowercased, or a 400 naming `field` and the rule. */
export function principalName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string') fail(field, 'must be a string', value);
  const name = value.trim().toLowerCase();
  if (!PRINCIPAL_NAME.test(name))
    fail(
      field,
      'must be 1 to 64 letters, digits, ".", "_" or "-", starting and ending with a letter or digit (case is ignored)',
      value,
    );
  return name;
}

/** A list of group names (deduplicated, in order), or a 400. */
export function groupNames(value: unknown, field = 'groups'): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 100) fail(field, 'must be a list of at most 100 group names', value);
  const out: string[] = [];
  value.forEach((g, i) => {
    if (typeof g !== 'string' || !GROUP_NAME.test(g))
      fail(`${field}[${i}]`, 'must be 1 to 128 characters: letters, digits and . _ : @ / -', g);
    if (!out.includes(g)) out.push(g);
  });
  return out;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A token's or description's free text: 1 to `max` printable characters, or a 400. */
export function label(value: unknown, field: string, max = 200, allowEmpty = false): string {
  if (typeof value !== 'string') fail(field, 'must be a string', value);
  const text = value.trim();
  if ((!allowEmpty && text === '') || text.length > max || hasControlCharacter(text))
    fail(field, `must be ${allowEmpty ? '0' : '1'} to ${max} printable characters`, value);
  return text;
}
