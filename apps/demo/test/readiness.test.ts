import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardNames } from '../src/cards.ts';
import { loadResourceConfig } from '../src/config.ts';
import { DemoApp } from '../src/demo-app.ts';
import { DeferredLogger } from '../src/logging.ts';
import { buildServer } from '../src/server.ts';
import { findCanaries, type RunningDemo, startDemo } from './support.ts';

let demo: RunningDemo;

beforeAll(async () => {
  demo = await startDemo('azure-identity');
}, 60_000);

afterAll(async () => {
  await demo?.stop();
});

/** A second app on the same stack, with one resource misconfigured: what a broken deployment looks like. */
async function startBrokenDemo(
  change: (resources: ReturnType<typeof loadResourceConfig>) => void,
): Promise<{ app: DemoApp; server: FastifyInstance; url: string; stop(): Promise<void> }> {
  const resources = loadResourceConfig();
  change(resources);
  const app = await DemoApp.create({
    mode: 'local',
    backend: 'msal',
    resources,
    stack: demo.stack,
    logger: new DeferredLogger(),
  });
  const server = buildServer(app, { logLevel: 'silent' });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    app,
    server,
    url,
    async stop() {
      await server.close();
      await app.close();
    },
  };
}

describe('/readyz', () => {
  it('answers 200 once every card has its token and its connector is ready', async () => {
    const { status, json } = await demo.call('GET', '/readyz');
    expect(status).toBe(200);
    expect(json.ready).toBe(true);
    expect(json.failing).toEqual([]);
    expect(json.cards).toEqual(cardNames.map((name) => ({ name, ready: true })));
    // Liveness stays about the process.
    expect(await demo.call('GET', '/healthz')).toMatchObject({ status: 200, json: { status: 'up' } });
  });

  it('answers 503 naming each failing card with its error code, message and hint; the others stay ready', async () => {
    // The Storage role is taken away and the PostgreSQL password secret does not exist.
    demo.stack.blob?.removeRole(demo.stack.appIdentity.objectId);
    const broken = await startBrokenDemo((resources) => {
      resources.postgres.passwordSecret = 'no-such-secret';
    });
    try {
      const response = await fetch(`${broken.url}/readyz`);
      const text = await response.text();
      expect(response.status).toBe(503);
      const json = JSON.parse(text);
      expect(json.ready).toBe(false);
      const failing = Object.fromEntries(
        json.failing.map((card: { name: string; code: string; hint: string }) => [card.name, card]),
      );
      expect(Object.keys(failing).sort()).toEqual(['blob', 'postgres']);
      expect(failing.blob.code).toBe('authorization');
      expect(failing.blob.hint).toMatch(/Storage Blob Data/);
      expect(failing.postgres).toMatchObject({ code: 'configuration', hint: expect.any(String) });
      expect(failing.postgres.message).toContain('no-such-secret');
      for (const name of ['keyvault', 'sql', 'redis'])
        expect(json.cards.find((card: { name: string }) => card.name === name)).toEqual({
          name,
          ready: true,
        });
      expect(findCanaries(demo, text)).toEqual([]);
    } finally {
      demo.stack.blob?.assignRole(demo.stack.appIdentity.objectId, 'Storage Blob Data Contributor');
      await broken.stop();
    }
  });

  it('answers 503 with code "closed" once the app is shutting down', async () => {
    const broken = await startBrokenDemo(() => {});
    await broken.app.close();
    const response = await fetch(`${broken.url}/readyz`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('closed');
    await broken.stop();
  });
});
