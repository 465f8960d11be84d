import type { FastifyInstance } from 'fastify';
import type { DemoApp } from '../demo-app.js';

export function registerRedisRoutes(server: FastifyInstance, app: DemoApp): void {
  server.post('/api/redis/incr', async () => app.redisIncrement());
}
