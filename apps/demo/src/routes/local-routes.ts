import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DemoApp } from '../demo-app.js';
import { parseOrReject } from './validation.js';

const outageBody = z.object({ durationMs: z.number().int().min(1_000).max(600_000).default(60_000) });

/** The actions that drive the local stack; they answer 404 `not-local` in Azure mode. */
export function registerLocalRoutes(server: FastifyInstance, app: DemoApp): void {
  server.post('/api/local/rotate-postgres', async () => app.rotatePostgresPassword());
  server.post('/api/local/rotate-redis', async () => app.rotateRedisPassword());
  server.post('/api/local/identity-outage', async (request) => {
    const body = parseOrReject(outageBody, request.body ?? {});
    return app.identityOutage(body.durationMs);
  });
  server.delete('/api/local/identity-outage', async () => app.endIdentityOutage());
}
