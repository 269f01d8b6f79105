/**
 * Analysis templates as users manage them: stored ones (validated by `core/analysis`) and the
 * built-in ones, which a stored template of the same name overrides.
 */
import { BUILTIN_ANALYSIS_TEMPLATES, validateAnalysisTemplate } from '../core/analysis/index.js';
import { hasErrorCode, InvalidArgumentError, NotFoundError, unlessNotFound } from '../core/errors.js';
import type { Store } from '../store/store.js';

/** See the module comment. */
export class AnalysisTemplates {
  constructor(private readonly store: Store) {}

  /** Stored templates, then the built-in ones no stored template overrides; each marked `builtin`. */
  async list(): Promise<{ items: Record<string, unknown>[] }> {
    const stored = (await this.store.analysisTemplates.list({ limit: 1000 })).items.map((t) => ({
      ...t.template,
      name: t.name,
      builtin: false,
    }));
    const builtin = Object.values(BUILTIN_ANALYSIS_TEMPLATES)
      .filter((t) => !stored.some((s) => s.name === t.name))
      .map((t) => ({ ...t, builtin: true }));
    return { items: [...stored, ...builtin] };
  }

  /** The stored template `name`, else the built-in one; `NOT_FOUND` if neither exists. */
  async get(name: string): Promise<Record<string, unknown>> {
    const stored = await unlessNotFound(this.store.analysisTemplates.get(name));
    if (stored !== undefined) return stored.template;
    const builtin = (BUILTIN_ANALYSIS_TEMPLATES as Record<string, object | undefined>)[name];
    if (builtin === undefined) throw new NotFoundError(`analysis template ${JSON.stringify(name)} not found`);
    return { ...builtin };
  }

  /** Creates or replaces template `name` with `body` (whose `name` must match); returns what was stored. */
  async put(name: string, body: unknown, by: string): Promise<Record<string, unknown>> {
    const template = validateAnalysisTemplate(body, '');
    if (template.name !== name)
      throw new InvalidArgumentError(
        `name: must match the URL (${JSON.stringify(name)}), got ${JSON.stringify(template.name)}`,
      );
    const at = new Date().toISOString();
    const current = await unlessNotFound(this.store.analysisTemplates.get(name));
    const doc = {
      name,
      template: template as unknown as Record<string, unknown>,
      updatedAt: at,
      updatedBy: by,
    };
    const saved =
      current === undefined
        ? await this.store.analysisTemplates.create(doc)
        : await this.store.analysisTemplates.update({ ...current, ...doc });
    return saved.template;
  }

  /** Removes template `name`; `NOT_FOUND` if none is stored (built-in ones cannot be removed). */
  async delete(name: string): Promise<{ deleted: string }> {
    await this.store.analysisTemplates.delete(name).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND') ? new NotFoundError(`analysis template ${JSON.stringify(name)} not found`) : e;
    });
    return { deleted: name };
  }
}
