import type { FastifyInstance } from 'fastify';
import type { DemoApp } from '../demo-app.js';

export function registerSqlRoutes(server: FastifyInstance, app: DemoApp): void {
  server.get('/api/sql/whoami', async () => app.sqlWhoAmI());
}
