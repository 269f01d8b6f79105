/**
 * Analysis templates and runs, pure: templates and their rules (`template.ts`), resolution for one
 * revision (`resolve.ts`), run state and verdict rules (`run.ts`) and the built-in templates. The
 * I/O step that takes measurements is `src/controller/reconcilers/analysis-step.ts`.
 */
export * from './builtin-templates.js';
export * from './resolve.js';
export * from './run.js';
export * from './template.js';
