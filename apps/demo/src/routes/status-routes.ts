import { tokenBackendNames } from '@keyless/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DemoApp } from '../demo-app.js';
import { parseOrReject } from './validation.js';

const backendBody = z.object({ backend: z.enum(tokenBackendNames) });

export function registerStatusRoutes(server: FastifyInstance, app: DemoApp): void {
  // Liveness: the process answers. Dependencies stay out of it (a restart fixes no missing role).
  server.get('/healthz', async () => ({ status: 'up' }));
  // Readiness: every card's token and connector (docs/readiness.md); 503 names each failing card
  // with its error code and hint, never a token or a secret.
  server.get('/readyz', async (request, reply) => {
    const cards = await app.readiness();
    const failing = cards.filter((card) => !card.ready);
    if (failing.length > 0) {
      request.log.warn({ failing: failing.map((card) => `${card.name}: ${card.code}`) }, 'not ready');
    }
    reply.code(failing.length === 0 ? 200 : 503);
    return { ready: failing.length === 0, cards, failing };
  });
  server.get('/api/status', async () => app.status());
  server.post('/api/backend', async (request) => {
    const { backend } = parseOrReject(backendBody, request.body ?? {});
    await app.switchBackend(backend);
    return { backend: app.backend, identity: app.identity };
  });
}
