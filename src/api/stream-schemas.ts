/**
 * Response schemas of the API's non-resource answers: the gateways' route table (`GET /api/v1/routes`,
 * and each line of its watch stream), a replica log line (each line of the NDJSON logs stream) and
 * a model artifact (octet stream). The route table is checked at compile time against its protocol
 * type both ways. Imports only zod and protocol types.
 */
import { z } from 'zod';
import type { RouteTable } from '../protocol/route-table.js';
import { type Exact, exact } from './spec-schemas.js';

const NamedValue = z.object({ name: z.string(), value: z.string() });

export const RouteTableBody = z.object({
  version: z.number(),
  routes: z
    .array(
      z.object({
        environment: z.string(),
        deployment: z.string(),
        targets: z
          .array(
            z.object({
              revision: z.number(),
              weight: z.number(),
              model: z.object({ name: z.string(), version: z.string() }),
              backends: z.array(z.object({ id: z.string(), url: z.string() })).readonly(),
            }),
          )
          .readonly(),
        matches: z
          .array(z.object({ header: NamedValue.optional(), cookie: NamedValue.optional(), revision: z.number() }))
          .readonly()
          .optional(),
        sticky: z.object({ header: z.string().optional(), cookie: z.string().optional() }).optional(),
        mirror: z.object({ revision: z.number(), percent: z.number(), tolerance: z.number().optional() }).optional(),
        hold: z.object({ queue: z.number(), timeoutMs: z.number() }).optional(),
        outlierDetection: z
          .object({
            consecutiveErrors: z.number(),
            baseEjectionMs: z.number(),
            maxEjectionMs: z.number(),
            maxEjectedPercent: z.number(),
          })
          .optional(),
        auth: z
          .object({
            tokens: z
              .array(z.object({ id: z.string(), hash: z.string(), expiresAt: z.string().nullable() }))
              .readonly(),
          })
          .optional(),
        rateLimit: z
          .object({ requestsPerSecond: z.number(), burst: z.number(), per: z.enum(['token', 'client']) })
          .optional(),
      }),
    )
    .readonly(),
});
exact<Exact<z.infer<typeof RouteTableBody>, RouteTable>>();

/** One line of a replica's log (runtime's `LogLine`), one JSON document per line of the stream. */
export const LogLineBody = z.object({
  replica: z.string(),
  time: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  text: z.string(),
});

/** A model file's bytes. */
export const ArtifactBytes = z.string().describe('the artifact, as stored (binary)');
