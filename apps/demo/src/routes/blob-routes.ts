import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DemoApp } from '../demo-app.js';
import { parseOrReject } from './validation.js';

const blobName = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[\w.-]+$/, 'letters, digits, dot, dash and underscore only');
const uploadBody = z.object({ name: blobName.default('from-the-demo.txt'), content: z.string().max(64_000) });
const downloadQuery = z.object({ name: blobName.default('hello.txt') });

export function registerBlobRoutes(server: FastifyInstance, app: DemoApp): void {
  server.post('/api/blob/upload', async (request) => {
    const body = parseOrReject(uploadBody, request.body ?? {});
    return app.uploadBlob(body.name, body.content);
  });
  server.get('/api/blob/download', async (request) => {
    const query = parseOrReject(downloadQuery, request.query ?? {});
    return app.downloadBlob(query.name);
  });
}
