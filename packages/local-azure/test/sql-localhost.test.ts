import { lookup } from 'node:dns/promises';
import { createServer, connect as netConnect } from 'node:net';
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAzure, startLocalAzure } from '../src/index.js';
import { close, connect, query } from './support/sql-test-stack.js';
import { useManagedIdentityEnvironment } from './support/token-requests.js';

let stack: LocalAzure;
let restoreEnvironment: () => void;
const warnings: { code?: string; name: string }[] = [];
const recordWarning = (warning: Error & { code?: string }) =>
  warnings.push({ code: warning.code, name: warning.name });

beforeAll(async () => {
  process.on('warning', recordWarning);
  stack = await startLocalAzure({
    services: ['sql'],
    stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
  });
  restoreEnvironment = useManagedIdentityEnvironment({ ...stack.env });
});

afterAll(async () => {
  restoreEnvironment?.();
  await stack?.stop();
  process.off('warning', recordWarning);
});

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function machineHasIpv6Loopback(): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

describe('the SQL endpoint under a name its certificate covers', () => {
  it('is printed as localhost', () => {
    expect(stack.env.KEYLESS_SQL_SERVER).toBe('localhost');
  });

  it.each([true, 'strict'] as const)(
    'lets tedious log in with only the stack environment (encrypt: %s), with no DEP0123 (IP address as TLS server name) warning',
    async (encrypt) => {
      const { connection } = await connect({
        server: stack.env.KEYLESS_SQL_SERVER as string,
        authentication: {
          type: 'token-credential',
          options: {
            credential: new ManagedIdentityCredential({ clientId: stack.env.AZURE_CLIENT_ID as string }),
          },
        },
        options: {
          port: Number(stack.env.KEYLESS_SQL_PORT),
          database: stack.env.KEYLESS_SQL_DATABASE as string,
          encrypt,
          cryptoCredentialsDetails: { ca: stack.ca.caCertificate },
          connectTimeout: 10_000,
        },
      });
      try {
        expect(await query(connection, 'SELECT SUSER_SNAME() AS name')).toEqual([
          { name: stack.appIdentity.name },
        ]);
      } finally {
        await close(connection);
      }
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.filter((warning) => warning.code === 'DEP0123')).toEqual([]);
    },
  );

  it('accepts connections on every address localhost resolves to, and on ::1 wherever the machine has it', async () => {
    const port = Number(stack.env.KEYLESS_SQL_PORT);
    const addresses = (await lookup('localhost', { all: true })).map((entry) => entry.address);
    if (await machineHasIpv6Loopback()) addresses.push('::1');
    expect(addresses).toContain('127.0.0.1');
    for (const address of new Set(addresses)) {
      expect({ address, reachable: await canConnect(address, port) }).toEqual({ address, reachable: true });
    }
  });
});
