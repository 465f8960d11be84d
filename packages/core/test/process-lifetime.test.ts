import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const builtTesting = fileURLToPath(new URL('../dist/testing.js', import.meta.url));

describe('timers', () => {
  it('never keep the process alive: a script that holds a cached token and never closes exits by itself', () => {
    const script = `
      import { createTokenProviderWithInternals } from ${JSON.stringify(builtTesting)};
      const backend = {
        name: 'msal',
        identity: { kind: 'system-assigned' },
        fetchToken: async () => ({ token: 'opaque', expiresOnTimestamp: Date.now() + 3_600_000 }),
      };
      // random 0: no refresh jitter, so the refresh time is exactly expiry − 5 min.
      const provider = createTokenProviderWithInternals({ environment: {} }, { backend, random: () => 0 });
      const token = await provider.getToken('https://storage.azure.com/.default');
      console.log('refresh scheduled in', Math.round((token.refreshAfterTimestamp - Date.now()) / 60000), 'min');
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull(); // not killed by the timeout
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('refresh scheduled in 55 min');
  });
});

describe('close() with a request in flight', () => {
  // An identity endpoint that accepts connections and never answers: the worst case for exiting.
  let server: Server;
  let endpoint: string;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer(() => {});
    server.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each(['azure-identity', 'msal'])(
    '%s: the waiting caller gets ClosedError and the process exits within a second of close()',
    async (backend) => {
      const script = `
        import { createTokenProvider } from ${JSON.stringify(builtEntry)};
        const provider = createTokenProvider({ backend: ${JSON.stringify(backend)} });
        const waiting = provider.getToken('https://storage.azure.com/.default').then(
          () => console.log('settled: a token'),
          (error) => console.log('settled:', error.name),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        await provider.close();
        await waiting;
        setTimeout(() => { console.log('still alive', JSON.stringify(process.getActiveResourcesInfo())); process.exit(3); }, 1000).unref();
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: 'header-for-the-test' },
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
      });
      const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(output).toContain('settled: ClosedError');
      expect(output).not.toContain('still alive');
      expect(exitCode).toBe(0);
    },
  );
});
