import { tokenBackendNames } from '@keyless/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DemoApp } from '../demo-app.js';
import { parseOrReject } from './validation.js';

const backendBody = z.object({ backend: z.enum(tokenBackendNames) });

export function registerStatusRoutes(server: FastifyInstance, app: DemoApp): void {
  server.get('/healthz', async () => ({ status: 'up' }));
  server.get('/readyz', async (_request, reply) => {
    if (!app.ready) await app.status();
    const pending = app.cards
      .all()
      .filter((card) => !card.answeredOnce)
      .map((card) => card.name);
    reply.code(pending.length === 0 ? 200 : 503);
    return { ready: pending.length === 0, pending };
  });
  server.get('/api/status', async () => app.status());
  server.post('/api/backend', async (request) => {
    const { backend } = parseOrReject(backendBody, request.body ?? {});
    await app.switchBackend(backend);
    return { backend: app.backend, identity: app.identity };
  });
}
