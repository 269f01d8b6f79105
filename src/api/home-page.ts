/**
 * The first page of the console: the deployments of every environment, server-rendered and
 * refreshed every few seconds. No client-side code: the full console comes later.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deployment } from '../core/resources.js';
import { servingSummary } from '../core/serving-summary.js';

const REFRESH_SECONDS = 3;

/** Adds `GET /`, rendering what `list` returns. */
export function registerHomePage(app: OpenAPIHono, list: () => Promise<Deployment[]>): void {
  app.get('/', async (c) => {
    const deployments = await list();
    const rows = deployments
      .map(
        (d) => `
      <tr data-deployment="${esc(d.environment)}/${esc(d.name)}">
        <td>${esc(d.name)}</td><td>${esc(d.environment)}</td>
        <td>${d.model ? `${esc(d.model.name)} ${esc(d.model.version)}` : '-'}</td>
        <td>${d.revision}</td><td>${d.status.readyReplicas}/${d.configuration.replicas}</td>
        <td class="phase ${esc(d.status.phase)}">${esc(d.status.phase)}</td>
        <td class="serving">${esc(servingSummary(d.status))}</td>
        <td>${esc(d.status.message ?? '')}</td>
        <td>${d.endpoints.external ? `<code>${esc(d.endpoints.external)}</code>` : '-'}</td>
      </tr>`,
      )
      .join('');
    const body =
      deployments.length === 0
        ? '<p id="empty">No deployments yet. Try <code>wharf deploy create --help</code>.</p>'
        : `<table><thead><tr><th>Name</th><th>Environment</th><th>Model</th><th>Revision</th><th>Ready</th><th>Phase</th><th>Serving</th><th>Message</th><th>Endpoint</th></tr></thead><tbody>${rows}</tbody></table>`;
    return c.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>Wharf · deployments</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 2rem; color: #1b1f24; }
  table { border-collapse: collapse; } th, td { padding: .4rem .8rem; border-bottom: 1px solid #d0d7de; text-align: left; }
  .running { color: #1a7f37; } .failed { color: #cf222e; } .deploying, .rolling-back { color: #9a6700; }
</style></head>
<body><h1>Deployments</h1>${body}
<p><small>API: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> · refreshed every ${REFRESH_SECONDS} s</small></p>
</body></html>`);
  });
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
