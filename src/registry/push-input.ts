/**
 * Validation of what a caller sends with a push: every rule is checked before a byte of the body
 * is read, and each failure is an `INVALID_ARGUMENT` naming the field and the rule.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Labels, ModelSource } from '../core/resources.js';
import { parseSemver, type SemVer } from '../core/semver.js';

/** What describes a new model version (the body carries the artifact). */
export interface PushVersionInput {
  /** The model's name: a DNS label (lowercase letters, digits, '-'; 1–63 characters). */
  model: string;
  /** Strict SemVer 2.0.0, e.g. `1.4.0` or `2.0.0-rc.1`. */
  version: string;
  /** The name it was uploaded as; default `model.onnx`. */
  filename?: string;
  /** The version's labels. */
  labels?: Labels;
  /** Evaluation figures, e.g. `{ auc: 0.91 }`: finite numbers under metric names. */
  metrics?: Record<string, number>;
  /** Where it came from (git remote and commit). */
  source?: ModelSource;
  /** The model's description; used only when this push creates the model. */
  description?: string;
}

/** {@link PushVersionInput} after validation, with defaults filled in. */
export interface ValidPushInput {
  model: string;
  version: string;
  semver: SemVer;
  filename: string;
  labels: Labels;
  metrics?: Record<string, number>;
  source?: ModelSource;
  description: string;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const MAX_LABELS = 64;
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,62}$/;
const MAX_METRICS = 64;
const MAX_LABEL_KEY = 63;
const MAX_LABEL_VALUE = 256;
const MAX_FILENAME = 255;
const MAX_DESCRIPTION = 4096;
const MAX_SOURCE_FIELD = 1024;
export const DEFAULT_FILENAME = 'model.onnx';

/** Throws unless `name` is a valid model name; the message names `field` and the rule. */
export function checkModelName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 63 || !NAME.test(name)) {
    throw new InvalidArgumentError(
      `${field}: must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

function hasControl(value: string, allowNewlines: boolean): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 || c === 0x7f) && !(allowNewlines && (c === 0x09 || c === 0x0a))) return true;
  }
  return false;
}

function checkText(value: unknown, field: string, max: number, multiline = false): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${field}: must be a string`);
  if (value.length > max)
    throw new InvalidArgumentError(`${field}: must be at most ${max} characters, got ${value.length}`);
  // Control characters end up in headers (Content-Disposition) and logs; prose may keep newlines and tabs.
  if (hasControl(value, multiline)) throw new InvalidArgumentError(`${field}: must not contain control characters`);
  return value;
}

function checkFilename(value: unknown): string {
  const name = checkText(value, 'filename', MAX_FILENAME);
  if (name === '' || name === '.' || name === '..' || /[/\\]/.test(name)) {
    throw new InvalidArgumentError(
      `filename: must be a plain file name without '/' or '\\', got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

function checkLabels(value: unknown): Labels {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError('labels: must be an object of strings');
  const entries = Object.entries(value);
  if (entries.length > MAX_LABELS)
    throw new InvalidArgumentError(`labels: at most ${MAX_LABELS} labels, got ${entries.length}`);
  const labels: Labels = {};
  for (const [key, v] of entries) {
    if (key.length > MAX_LABEL_KEY || !LABEL_KEY.test(key)) {
      throw new InvalidArgumentError(
        `labels: key ${JSON.stringify(key)} must be 1-${MAX_LABEL_KEY} letters, digits, '-', '_', '.' or '/', starting and ending with a letter or digit`,
      );
    }
    labels[key] = checkText(v, `labels.${key}`, MAX_LABEL_VALUE);
  }
  return labels;
}

function checkMetrics(value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError('metrics: must be an object of numbers, e.g. {"auc": 0.91}');
  const entries = Object.entries(value);
  if (entries.length > MAX_METRICS)
    throw new InvalidArgumentError(`metrics: at most ${MAX_METRICS} metrics, got ${entries.length}`);
  const metrics: Record<string, number> = {};
  for (const [name, v] of entries) {
    if (!METRIC_NAME.test(name))
      throw new InvalidArgumentError(
        `metrics: name ${JSON.stringify(name)} must be 1-63 letters, digits, '_', '.', ':' or '-', starting with a letter or '_'`,
      );
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new InvalidArgumentError(`metrics.${name}: must be a finite number, got ${JSON.stringify(v)}`);
    metrics[name] = v;
  }
  return metrics;
}

function checkSource(value: unknown): ModelSource {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError('source: must be an object');
  const { repository, commit, ...rest } = value as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0)
    throw new InvalidArgumentError(
      `source: unknown field ${JSON.stringify(unknownKeys[0])} (allowed: repository, commit)`,
    );
  const source: ModelSource = {};
  if (repository !== undefined) source.repository = checkText(repository, 'source.repository', MAX_SOURCE_FIELD);
  if (commit !== undefined) source.commit = checkText(commit, 'source.commit', MAX_SOURCE_FIELD);
  return source;
}

/**
 * Validates a push and fills in defaults.
 *
 * @example
 *   validatePushInput({ model: 'readmission', version: '1.4.0' }).filename // 'model.onnx'
 */
export function validatePushInput(input: PushVersionInput): ValidPushInput {
  const model = checkModelName(input.model);
  const semver = parseSemver(input.version, 'version');
  const valid: ValidPushInput = {
    model,
    version: input.version,
    semver,
    filename: input.filename === undefined ? DEFAULT_FILENAME : checkFilename(input.filename),
    labels: input.labels === undefined ? {} : checkLabels(input.labels),
    description:
      input.description === undefined ? '' : checkText(input.description, 'description', MAX_DESCRIPTION, true),
  };
  if (input.metrics !== undefined) valid.metrics = checkMetrics(input.metrics);
  if (input.source !== undefined) valid.source = checkSource(input.source);
  return valid;
}
