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
 *
 * An unreachable host in Entra mode (a closed port) is the lifecycle group's one-off script in
 * test/conformance.test.ts; options the guard refuses fail at construction, before anything could
 * keep the process alive: the configuration group.
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
  /**
   * Whether the script awaits `connect()` before its command (fail fast at start-up), as most do;
   * the others let the first command connect.
   */
  connectFirst?: false;
  /** `resolved …` or `rejected <ErrorName> <code>`. */
  settled: RegExp;
}

const secret = "password: fromKeyVaultSecret({ secretName: 'redis-password' })";
const entra = 'password: entraToken()';

const rows: ScriptRow[] = [
  {
    name: 'succeeds (the control)',
    options: () => `{ ${secret} }`,
    settled: /^resolved \d+$/,
  },
  {
    name: 'succeeds without connect(): the first command connects (the control)',
    options: () => `{ ${entra} }`,
    connectFirst: false,
    settled: /^resolved \d+$/,
  },
  {
    name: 'a wrong password',
    options: () => "{ password: fromKeyVaultSecret({ secretName: 'redis-wrong-password' }) }",
    settled: /^rejected AuthenticationFailedError authentication-failed$/,
  },
  {
    name: 'a wrong password, lazyConnect (refused at the first command)',
    options: () =>
      "{ password: fromKeyVaultSecret({ secretName: 'redis-wrong-password' }), redisOptions: { lazyConnect: true } }",
    connectFirst: false,
    settled: /^rejected AuthenticationFailedError authentication-failed$/,
  },
  {
    name: 'an Entra user without an access policy',
    options: () => "{ password: entraToken(), user: '00000000-0000-0000-0000-0000000000ff' }",
    settled: /^rejected AuthenticationFailedError authentication-failed$/,
  },
  {
    name: 'an unknown secret',
    options: () => "{ password: fromKeyVaultSecret({ secretName: 'no-such-secret' }) }",
    settled: /^rejected ConfigurationError configuration$/,
  },
  {
    name: 'an unknown secret, without connect() (refused at the first command)',
    options: () => "{ password: fromKeyVaultSecret({ secretName: 'no-such-secret' }) }",
    connectFirst: false,
    settled: /^rejected ConfigurationError configuration$/,
  },
  {
    name: 'an unreachable host (secret mode)',
    options: ({ closedPort }) => `{ host: '127.0.0.1', port: ${closedPort}, tls: true, ${secret} }`,
    settled: /^rejected ServiceUnavailableError unavailable$/,
  },
  {
    name: 'a server that completes TLS and never answers (handshake bounded by connectTimeout)',
    options: ({ silentTlsPort }) =>
      `{ host: '127.0.0.1', port: ${silentTlsPort}, tls: true, ${secret}, redisOptions: { connectTimeout: 500 } }`,
    settled: /^rejected ServiceUnavailableError unavailable$/,
  },
  {
    name: 'a plaintext server on loopback that never answers, lazyConnect',
    options: ({ silentPlainPort }) =>
      `{ host: '127.0.0.1', port: ${silentPlainPort}, tls: false, ${entra}, redisOptions: { connectTimeout: 500, lazyConnect: true, maxRetriesPerRequest: 1 } }`,
    connectFirst: false,
    settled: /^rejected ServiceUnavailableError unavailable$/,
  },
  {
    name: 'an untrusted certificate (secret mode)',
    options: ({ untrustedPort }) => `{ host: '127.0.0.1', port: ${untrustedPort}, tls: true, ${secret} }`,
    settled: /^rejected ConfigurationError configuration$/,
  },
  {
    name: 'an untrusted certificate (Entra mode, lazyConnect)',
    options: ({ untrustedPort }) =>
      `{ host: '127.0.0.1', port: ${untrustedPort}, tls: true, ${entra}, redisOptions: { lazyConnect: true } }`,
    connectFirst: false,
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
      `import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { createRedisConnector } from '@keyless/redis';
async function main() {
  const redis = createRedisConnector(${options});
  try {
    ${row.connectFirst === false ? '' : 'await redis.connect();'}
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
