import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

// src/ and dist/ both sit next to public/, so the same relative URL works from either.
const publicFolder = new URL('../../public/', import.meta.url);

const files: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/plots.js': { file: 'plots.js', type: 'text/javascript; charset=utf-8' },
  '/doctor-panel.js': { file: 'doctor-panel.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** The dashboard: static files, no build step, nothing from a CDN. */
export function registerPageRoutes(server: FastifyInstance): void {
  for (const [path, { file, type }] of Object.entries(files)) {
    server.get(path, async (_request, reply) => {
      const body = await readFile(new URL(file, publicFolder), 'utf8');
      return reply
        .type(type)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', "default-src 'self'; img-src 'self' data:")
        .send(body);
    });
  }
}
