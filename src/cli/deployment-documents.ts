/**
 * Deployment documents as files hold them (YAML or JSON, several per file): parsing, and dropping
 * the fields the server owns so that what `get -o yaml` prints is accepted back by `apply` and
 * `policy test`.
 */
import { parseAllDocuments } from 'yaml';
import { usageError } from './exit-codes.js';

/**
 * Fields of a deployment document that the server owns; `apply` drops them so `get -o yaml` round-trips
 * (`resourceVersion` is sent back on an update, as the version the document was read at).
 */
const READ_ONLY_FIELDS = [
  'id',
  'revision',
  'status',
  'endpoints',
  'resourceVersion',
  'rolloutRequests',
  'kind',
  'apiVersion',
] as const;
const READ_ONLY_METADATA = ['created', 'updated', 'deployedBy', 'deletionRequestedAt'] as const;

/** A deployment document without the fields the server owns (as `get -o yaml` prints them). */
export function withoutServerFields(raw: Record<string, unknown>): Record<string, unknown> {
  const doc = Object.fromEntries(
    Object.entries(raw).filter(([k]) => !(READ_ONLY_FIELDS as readonly string[]).includes(k)),
  );
  if (doc.metadata !== undefined && typeof doc.metadata === 'object' && doc.metadata !== null) {
    doc.metadata = Object.fromEntries(
      Object.entries(doc.metadata).filter(([k]) => !(READ_ONLY_METADATA as readonly string[]).includes(k)),
    );
  }
  return doc;
}

/** The mappings of a YAML or JSON file, in order; empty documents are skipped. */
export function parseDocuments(text: string, file: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(text);
  const out: Record<string, unknown>[] = [];
  for (const [i, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    if (doc.errors.length > 0) throw usageError(`${file}: document ${i + 1}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value))
      throw usageError(`${file}: document ${i + 1}: must be a mapping (a deployment document)`);
    out.push(value as Record<string, unknown>);
  }
  if (out.length === 0) throw usageError(`${file}: no document`);
  return out;
}

/** Standard input, whole, as text (`-f -`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
