import net from 'node:net';
import { findFreePort, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { runOneOffScript } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * An application's one-off script (a migration, a cron job): `main()` creates the connector, runs a
 * query and closes the connector in `finally`, with nothing else keeping the process alive. Whatever
 * goes wrong, `main()` must settle with a typed keyless error, and the process must then exit on its
 * own within a second (runOneOffScript reports exit code 3 and what kept it alive otherwise).
 * The scripts import the built package (`@keyless/sql` resolves to dist/, built before `test`).
 *
 * A server that is not there (a closed port) is the lifecycle group's one-off script in
 * test/conformance.test.ts; options the guard refuses fail at construction, before anything could
 * keep the process alive: the configuration group.
 */

const packageFolder = process.cwd();

interface Case {
  name: string;
  /** Options passed to createSqlConnector, as source text. */
  options: string;
  /** Changes to the stack's environment (undefined removes a variable). */
  environment?: (stack: LocalAzure, ports: Ports) => Record<string, string | undefined>;
  /** How main() must settle: `rejected <error class> <code>`. */
  settled: string;
  /** What the error's message must say. */
  message: RegExp;
}

interface Ports {
  /** Nothing listens. */
  closed: number;
  /** Accepts connections and never answers (a hung endpoint). */
  silent: number;
}

/** The identity endpoint moved to another port of the same host. */
const identityEndpointAt = (stack: LocalAzure, port: number) =>
  stack.env.IDENTITY_ENDPOINT?.replace(/:\d+\//, `:${port}/`);

const cases: Case[] = [
  {
    name: 'unknown principal (18456: the identity has no database user)',
    // The system-assigned identity has no user in the local database, as a fresh Azure SQL would not.
    options: "tokenProvider: createTokenProvider({ identity: 'system-assigned' })",
    settled: 'rejected AuthorizationError authorization',
    message: /refused the login of .*Login failed for user/,
  },
  {
    name: 'untrusted certificate (the local CA is not trusted)',
    options: '',
    environment: () => ({ NODE_EXTRA_CA_CERTS: undefined }),
    settled: 'rejected ConfigurationError configuration',
    message: /the server's TLS certificate is not trusted/,
  },
  {
    name: 'identity endpoint down',
    // Room for the provider's own retries and, since backends load at the first token, its import
    // of @azure/identity (over a second on a busy 2-core machine): its error must come first.
    options: 'connectTimeoutMs: 20000',
    environment: (stack, ports) => ({ IDENTITY_ENDPOINT: identityEndpointAt(stack, ports.closed) }),
    // The provider's own error, passed through: it names the identity endpoint, not the SQL server.
    settled: 'rejected ServiceUnavailableError unavailable',
    message: /from the identity endpoint at .* failed/,
  },
  {
    name: 'identity endpoint hangs (the connect timeout ends the login)',
    options: 'connectTimeoutMs: 2000',
    environment: (stack, ports) => ({ IDENTITY_ENDPOINT: identityEndpointAt(stack, ports.silent) }),
    settled: 'rejected ServiceUnavailableError unavailable',
    message:
      /No token for Azure SQL .* within connectTimeoutMs \(2000 ms\): the token provider .* has not answered/,
  },
  {
    name: 'identity endpoint hangs (the acquire timeout ends the wait first)',
    options: 'connectTimeoutMs: 10000, pool: { acquireTimeoutMs: 1000 }',
    environment: (stack, ports) => ({ IDENTITY_ENDPOINT: identityEndpointAt(stack, ports.silent) }),
    settled: 'rejected ServiceUnavailableError unavailable',
    message: /within pool\.acquireTimeoutMs \(1000 ms\): the login is waiting for a token/,
  },
  {
    name: 'SQL server hangs (accepts, never answers)',
    options: 'port: silentPort, connectTimeoutMs: 1000',
    settled: 'rejected ServiceUnavailableError unavailable',
    message: /could not be reached \(ETIMEOUT\)/,
  },
];

describe('a one-off script', () => {
  let stack: LocalAzure;
  let ports: Ports;
  let silent: net.Server;
  const held = new Set<net.Socket>();

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['sql'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
    silent = net.createServer((socket) => {
      held.add(socket);
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    ports = { closed: await findFreePort(), silent: (silent.address() as net.AddressInfo).port };
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await stack?.stop();
  });

  const run = (options: string, environment: Record<string, string | undefined> = {}) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...stack.env,
      AZURE_CLIENT_ID: stack.appIdentity.clientId,
    };
    for (const [name, value] of Object.entries(environment)) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    return runOneOffScript(
      packageFolder,
      `import { createTokenProvider } from '@keyless/core';
import { createSqlConnector } from '@keyless/sql';
const silentPort = ${ports.silent};
async function main() {
  let sql;
  try {
    sql = createSqlConnector({ ${options} });
    return (await sql.query('SELECT 1 AS one'))[0].one;
  } catch (error) {
    console.log(\`KEYLESS_MESSAGE \${error.message}\`);
    throw error;
  } finally {
    await sql?.close();
  }
}`,
      { env, timeoutMs: 90_000 },
    );
  };

  it('control: succeeds, and the process exits after close()', async () => {
    const result = await run('');
    expect(result.settled).toBe('resolved 1');
    expect(result.stillAlive).toBeUndefined();
    expect(result.exitCode).toBe(0);
  });

  it.each(cases)('$name: main() settles with the typed error, and the process exits', async (testCase) => {
    const result = await run(testCase.options, testCase.environment?.(stack, ports));
    expect(result.settled).toBe(testCase.settled);
    expect(/^KEYLESS_MESSAGE (.*)$/m.exec(result.output)?.[1]).toMatch(testCase.message);
    expect(result.stillAlive).toBeUndefined();
    expect(result.exitCode).toBe(0);
  });
});
