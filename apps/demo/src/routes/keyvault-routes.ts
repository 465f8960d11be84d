import type { FastifyInstance } from 'fastify';
import type { DemoApp } from '../demo-app.js';

export function registerKeyVaultRoutes(server: FastifyInstance, app: DemoApp): void {
  server.get('/api/keyvault/secret', async () => app.readSecret());
}
