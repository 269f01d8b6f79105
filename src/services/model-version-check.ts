/**
 * Whether the model version a spec names exists: by default in the store's `modelVersions`, inside
 * the change's transaction; or by a check the caller gives (`modelVersionExists`), made outside it
 * because it must not use the same store.
 */
import { hasErrorCode, InvalidArgumentError } from '../core/errors.js';
import type { DeploymentSpec } from '../core/resources.js';
import type { StoreCollections } from '../store/store.js';

/** Overrides the store lookup; must not use the store the change runs in. */
export type ModelVersionExists = (model: string, version: string) => Promise<boolean>;

/** See the module comment. Each check throws `INVALID_ARGUMENT` on `field` for an unknown version. */
export class ModelVersionCheck {
  constructor(private readonly exists?: ModelVersionExists) {}

  /** The caller's check, before a transaction starts (a create checks here, then {@link inside}). */
  async outside(spec: DeploymentSpec): Promise<void> {
    const exists = this.exists;
    if (exists === undefined || spec.model === undefined) return;
    if (!(await exists(spec.model.name, spec.model.version))) throw unknownModel('model.version', spec);
  }

  /** The store lookup in `tx`, when no check was given. */
  async inside(tx: StoreCollections, spec: DeploymentSpec, field: string): Promise<void> {
    if (this.exists !== undefined || spec.model === undefined) return;
    await tx.modelVersions.get({ model: spec.model.name, version: spec.model.version }).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND') ? unknownModel(field, spec) : e;
    });
  }

  /** Whichever applies, from inside a transaction. */
  async check(tx: StoreCollections, spec: DeploymentSpec, field: string): Promise<void> {
    const exists = this.exists;
    if (exists !== undefined && spec.model !== undefined && !(await exists(spec.model.name, spec.model.version)))
      throw unknownModel(field, spec);
    await this.inside(tx, spec, field);
  }
}

function unknownModel(field: string, spec: DeploymentSpec): InvalidArgumentError {
  return new InvalidArgumentError(
    `${field}: model ${JSON.stringify(spec.model?.name)} has no version ${JSON.stringify(spec.model?.version)}`,
  );
}
