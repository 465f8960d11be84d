import { fileURLToPath } from 'node:url';
import {
  type LeakRecorder,
  runOneOffScript,
  startPlaintextRecorder,
  startTlsInterceptor,
  type TlsInterceptor,
} from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedLoopbackPort, startSilentTlsServer, startTestStack, type TestStack } from './support.ts';

/**
 * A one-off script (a migration, a cron job) awaits its work, closes the connector and expects the
 * process to end. Every failure must settle `main()` with the typed error, and `close()` must leave
 * nothing behind: the process exits on its own within a second. The scripts import the built
 * package (`@keyless/redis` resolves to dist/), as an application does.
 */

const packageFolder = fileURLToPath(new URL('..', import.meta.url));

interface Ports {
  closedPort: number;
  untrustedPort: number;
  silentTlsPort: number;
  silentPlainPort: number;
}

interface ScriptRow {
  name: string;
  /** The object given to createRedisConnector, as JavaScript source. */
  options: (context: Ports) => string;
  /** `resolved …` or `rejected <ErrorName> <code>`. */
  settled: RegExp;
}

const secret = "fromKeyVaultSecret({ secretName: 'redis-password' })";
const entra = 'entraToken()';

const rows: ScriptRow[] = [
  {
    name: 'succeeds (the control)',
    options: () => `{ auth: ${secret} }`,
    settled: /^resolved \d+$/,
  },
  {
    name: 'a wrong password',
    options: () => "{ auth: fromKeyVaultSecret({ secretName: 'redis-wrong-password' }) }",
    settled: /^rejected AuthenticationFailedError authentication-failed$/,
  },
  {
    name: 'a wrong password, lazyConnect (refused at the first command)',
    options: () =>
      "{ auth: fromKeyVaultSecret({ secretName: 'redis-wrong-password' }), redisOptions: { lazyConnect: true } }",
    settled: /^rejected AuthenticationFailedError authentication-failed$/,
  },
  {
    name: 'an Entra user without an access policy',
    options: () => "{ auth: entraToken({ objectId: '00000000-0000-0000-0000-0000000000ff' }) }",
    settled: /^rejected AuthenticationFailedError authentication-failed$/,
  },
  {
    name: 'an unknown secret',
    options: () => "{ auth: fromKeyVaultSecret({ secretName: 'no-such-secret' }) }",
    settled: /^rejected ConfigurationError configuration$/,
  },
  {
    name: 'an unreachable host (secret mode)',
    options: ({ closedPort }) => `{ host: '127.0.0.1', port: ${closedPort}, tls: true, auth: ${secret} }`,
    settled: /^rejected ServiceUnavailableError unavailable$/,
  },
  {
    name: 'an unreachable host (Entra mode)',
    options: ({ closedPort }) => `{ host: '127.0.0.1', port: ${closedPort}, tls: true, auth: ${entra} }`,
    settled: /^rejected ServiceUnavailableError unavailable$/,
  },
  {
    name: 'a server that completes TLS and never answers (handshake bounded by connectTimeout)',
    options: ({ silentTlsPort }) =>
      `{ host: '127.0.0.1', port: ${silentTlsPort}, tls: true, auth: ${secret}, redisOptions: { connectTimeout: 500 } }`,
    settled: /^rejected ServiceUnavailableError unavailable$/,
  },
  {
    name: 'a plaintext server on loopback that never answers, lazyConnect',
    options: ({ silentPlainPort }) =>
      `{ host: '127.0.0.1', port: ${silentPlainPort}, tls: false, auth: ${entra}, redisOptions: { connectTimeout: 500, lazyConnect: true, maxRetriesPerRequest: 1 } }`,
    settled: /^rejected ServiceUnavailableError unavailable$/,
  },
  {
    name: 'an untrusted certificate (secret mode)',
    options: ({ untrustedPort }) =>
      `{ host: '127.0.0.1', port: ${untrustedPort}, tls: true, auth: ${secret} }`,
    settled: /^rejected ConfigurationError configuration$/,
  },
  {
    name: 'an untrusted certificate (Entra mode, lazyConnect)',
    options: ({ untrustedPort }) =>
      `{ host: '127.0.0.1', port: ${untrustedPort}, tls: true, auth: ${entra}, redisOptions: { lazyConnect: true } }`,
    settled: /^rejected ConfigurationError configuration$/,
  },
  {
    name: 'a guard refusal (tls.rejectUnauthorized: false)',
    options: () => `{ tls: { rejectUnauthorized: false }, auth: ${secret} }`,
    settled: /^rejected ConfigurationError configuration$/,
  },
  {
    name: 'a guard refusal (plaintext to another machine)',
    options: () => `{ host: 'cache.example.invalid', tls: false, auth: ${entra} }`,
    settled: /^rejected ConfigurationError configuration$/,
  },
];

describe('a one-off script settles with the typed error and exits', () => {
  let test: TestStack;
  let interceptor: TlsInterceptor;
  let closedPort: number;
  let silentTls: { port: number; stop(): Promise<void> };
  let silentPlain: LeakRecorder;

  beforeAll(async () => {
    test = await startTestStack();
    test.stack.keyVault?.setSecret('redis-wrong-password', 'not-the-redis-password');
    interceptor = await startTlsInterceptor({
      upstreamPort: test.stack.redis?.tlsPort as number,
      certificate: 'untrusted-ca',
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
    });
    closedPort = await closedLoopbackPort();
    silentTls = await startSilentTlsServer();
    silentPlain = await startPlaintextRecorder('127.0.0.1');
  });

  afterAll(async () => {
    await silentTls?.stop();
    await silentPlain?.stop();
    await interceptor?.stop();
    await test?.stop();
  });

  it.each(rows.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const options = row.options({
      closedPort,
      untrustedPort: interceptor.port,
      silentTlsPort: silentTls.port,
      silentPlainPort: silentPlain.port,
    });
    const result = await runOneOffScript(
      packageFolder,
      `import { createRedisConnector, entraToken, fromKeyVaultSecret } from '@keyless/redis';
async function main() {
  const redis = await createRedisConnector(${options});
  try {
    return await redis.client.incr('one-off:runs');
  } finally {
    await redis.close();
  }
}`,
      // The stack's environment as `keyless-local up` exports it; the identity is the app's.
      { env: { ...process.env, ...test.stack.env }, timeoutMs: 25_000 },
    );
    // Only what the wrapper reports: the script's own output is never printed.
    expect(result.settled).toMatch(row.settled);
    expect(result.stillAlive).toBeUndefined();
    expect(result.exitCode).toBe(0);
  });
});
