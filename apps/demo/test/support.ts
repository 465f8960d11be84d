import { Writable } from 'node:stream';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import type { FastifyInstance } from 'fastify';
import { type BackendName, loadResourceConfig } from '../src/config.ts';
import { DemoApp } from '../src/demo-app.ts';
import { DeferredLogger } from '../src/logging.ts';
import { buildServer } from '../src/server.ts';

export interface RunningDemo {
  url: string;
  stack: LocalAzure;
  app: DemoApp;
  server: FastifyInstance;
  /** Every log line the server wrote, and every response body the tests read. */
  logs: string[];
  bodies: string[];
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the JSON API loosely
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

/** The demo in this process, in local mode, as main.ts runs it (minus the CA re-exec: vitest's global setup did that). */
export async function startDemo(backend: BackendName = 'azure-identity'): Promise<RunningDemo> {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER;
  if (!stateFolder)
    throw new Error('KEYLESS_TEST_STATE_FOLDER is not set: use the global setup of @keyless/testing');
  const stack = await startLocalAzure({ stateFolder });
  Object.assign(process.env, stack.env);
  const logs: string[] = [];
  const bodies: string[] = [];
  const logDestination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = new DeferredLogger();
  const app = await DemoApp.create({
    mode: 'local',
    backend,
    resources: loadResourceConfig(),
    stack,
    logger,
  });
  const server = buildServer(app, { logLevel: 'debug', logDestination });
  logger.attach(server.log);
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    stack,
    app,
    server,
    logs,
    bodies,
    async call(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      bodies.push(text);
      return { status: response.status, json: JSON.parse(text) };
    },
    async stop() {
      await server.close();
      await app.close();
      await stack.stop();
    },
  };
}

/** Canaries: every token the identity endpoint minted, every secret value in the vault, any JWT. */
export function findCanaries(demo: RunningDemo, text: string): string[] {
  const found: string[] = [];
  for (const token of demo.stack.identity.issuedTokens())
    if (text.includes(token)) found.push('an issued token');
  for (const secret of demo.stack.keyVault?.secretValues() ?? [])
    if (text.includes(secret)) found.push('a secret value');
  if (/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/.test(text)) found.push('a JWT');
  if (text.includes('keyless-canary-secret')) found.push('the canary secret');
  return found;
}

/** Polls `condition` until it holds; a guard against hanging, not a speed assertion. */
export async function eventually<T>(
  condition: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
