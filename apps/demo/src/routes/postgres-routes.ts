import type { FastifyInstance } from 'fastify';
import type { DemoApp } from '../demo-app.js';

export function registerPostgresRoutes(server: FastifyInstance, app: DemoApp): void {
  server.get('/api/postgres/query', async () => app.postgresQuery());
}
