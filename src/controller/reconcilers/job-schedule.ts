/**
 * A scheduled job (a template): at each slot of its cron expression (in its time zone) it makes a
 * run, a Job of its own named `<template>-<slot in minutes since the epoch>` that names the
 * template in `scheduledBy`. Slots missed while the control plane was down make one run when it
 * comes back, not one per slot (the latest slot since the last run counts). The concurrency
 * policy decides about a slot that comes while a run is still active (Forbid: skip it, Replace:
 * cancel the active runs, Allow: run both); `historyLimit` keeps that many finished runs. The run's
 * name is derived from its slot, so a control plane that dies between making the run and writing
 * the template's status makes the same run again, which the store refuses as existing.
 */
import { dueSlot, nextSlot } from '../../core/job-spec.js';
import { isJobFinished, type Job } from '../../core/resources.js';
import { pendingStatus } from '../../services/jobs/jobs-service.js';
import { resolveJobModel } from '../../services/jobs/job-model.js';
import { listAll } from '../../services/store-pages.js';
import type { ReconcileResult } from '../reconciler.js';
import type { JobReconciler } from './job-reconciler.js';

/** The name of the run of `template` for the slot at `slotMs` (a DNS label of at most 63 characters). */
export function runName(template: string, slotMs: number): string {
  const suffix = `-${Math.floor(slotMs / 60_000)}`;
  return `${template.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** Reconciles a template (see the module comment). */
export async function reconcileTemplate(r: JobReconciler, template: Job): Promise<ReconcileResult> {
  const { store } = r.options;
  const schedule = template.spec.schedule!;
  const now = r.clock.now();
  let runs = await listAll(store.jobs, { environment: template.environment, scheduledBy: template.name });
  const active = (): Job[] => runs.filter((j) => !isJobFinished(j.status.phase));
  const status = { ...template.status };
  if (template.cancelRequested === true || status.phase === 'Cancelled') {
    for (const run of active())
      if (run.cancelRequested !== true) await store.jobs.update({ ...run, cancelRequested: true });
    await r.write(template, {
      ...status,
      phase: 'Cancelled',
      message: 'schedule cancelled: no more runs',
      finishedAt: status.finishedAt ?? r.iso(),
      active: active().map((j) => j.name),
    });
    return active().length > 0 ? { requeueAfterMs: r.pollMs } : {};
  }
  const after = Date.parse(status.lastScheduleTime ?? template.createdAt);
  const slot = dueSlot(schedule, after, now);
  if (slot !== undefined) {
    const running = active();
    if (schedule.concurrencyPolicy === 'Forbid' && running.length > 0) {
      status.message = `skipped the run at ${new Date(slot).toISOString()}: ${running[0]!.name} is still active`;
    } else {
      if (schedule.concurrencyPolicy === 'Replace')
        for (const run of running) await store.jobs.update({ ...run, cancelRequested: true });
      const made = await makeRun(r, template, slot);
      runs = [...runs.filter((j) => j.name !== made.name), made];
      status.message = `made run ${made.name}`;
    }
    status.lastScheduleTime = new Date(slot).toISOString();
  }
  await pruneHistory(r, runs, schedule.historyLimit);
  runs = await listAll(store.jobs, { environment: template.environment, scheduledBy: template.name });
  const next = nextSlot(schedule, now);
  await r.write(template, {
    ...status,
    phase: 'Pending',
    nextScheduleTime: new Date(next).toISOString(),
    active: active().map((j) => j.name),
  });
  // Woken at the next slot, and meanwhile now and then while runs are active (their list and the history).
  const untilNext = Math.max(1, next - now);
  return { requeueAfterMs: active().length > 0 ? Math.min(untilNext, r.pollMs * 4) : untilNext };
}

async function makeRun(r: JobReconciler, template: Job, slot: number): Promise<Job> {
  const { store } = r.options;
  const name = runName(template.name, slot);
  const { schedule: _template, ...spec } = template.spec;
  // A run scores what the deployment serves when it starts; a pinned model stays as resolved.
  const model = await resolveJobModel(store, template.environment, spec);
  return store.jobs
    .create({
      name,
      environment: template.environment,
      spec,
      resolved: { name: model.name, version: model.version, digest: model.digest },
      scheduledBy: template.name,
      scheduledFor: new Date(slot).toISOString(),
      generation: 1,
      status: pendingStatus(spec.output.url),
      createdAt: r.iso(),
      createdBy: `schedule:${template.name}`,
    })
    .catch(async (e: unknown) => {
      if ((e as { code?: string }).code !== 'ALREADY_EXISTS') throw e;
      return store.jobs.get({ environment: template.environment, name });
    });
}

/** Deletes the oldest finished runs beyond `limit` (their work directories stay until the home is cleaned). */
async function pruneHistory(r: JobReconciler, runs: Job[], limit: number): Promise<void> {
  const finished = runs
    .filter((j) => isJobFinished(j.status.phase))
    .sort((a, b) => (b.scheduledFor ?? b.createdAt).localeCompare(a.scheduledFor ?? a.createdAt));
  for (const old of finished.slice(limit))
    await r.options.store.jobs.delete({ environment: old.environment, name: old.name }).catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'NOT_FOUND') throw e;
    });
}
