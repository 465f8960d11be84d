import type { FastifyInstance } from 'fastify';
import type { DemoApp } from '../demo-app.js';

/** The plots' data (polled by the page) and the doctor panel. */
export function registerDashboardRoutes(server: FastifyInstance, app: DemoApp): void {
  server.get('/api/metrics', async () => app.metrics());
  server.get('/api/doctor', async () => app.doctor.state());
  // Runs the doctor now and answers with its report once it is done (bounded by its deadline).
  server.post('/api/doctor', async () => app.runDoctor());
}
