/**
 * Registry errors. Each reuses a store or core error class, so the `code` (and the HTTP status the
 * edge maps it to) stays the one callers already branch on; only the message is the registry's.
 */
import { AlreadyExistsError } from '../store/errors.js';

/**
 * A push named a version the model already has. Versions are immutable: the artifact behind
 * `readmission 1.4.0` never changes, so a deployment pinned to it always runs the same bytes.
 * Also thrown for a version that differs from an existing one only in build metadata (`1.0.0+b`
 * beside `1.0.0+a`): SemVer gives them equal precedence, so "latest" could not choose between them.
 */
export class VersionExistsError extends AlreadyExistsError {
  constructor(
    readonly model: string,
    readonly version: string,
    /** The stored version it clashes with, when not the same string. */
    readonly existing: string = version,
  ) {
    super('ModelVersion', `${model}/${version}`);
    this.message =
      existing === version
        ? `model ${model} version ${version} already exists; versions are immutable`
        : `model ${model} version ${version} has the same precedence as existing version ${existing} ` +
          `(they differ only in build metadata); versions are immutable`;
  }
}
