import { findFreePort, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { remoteLookingHost, runOneOffScript } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * An application's one-off script (a migration, a cron job): `main()` creates the connector, runs a
 * query and closes the connector in `finally`, with nothing else keeping the process alive. Whatever
 * goes wrong, `main()` must settle with a typed keyless error, and the process must then exit on its
 * own within a second (runOneOffScript reports exit code 3 and what kept it alive otherwise).
 * The scripts import the built package (`@keyless/sql` resolves to dist/, built before `test`).
 */

const packageFolder = process.cwd();

interface Case {
  name: string;
  /** Options passed to createSqlConnector, as source text. */
  options: string;
  /** Changes to the stack's environment (undefined removes a variable). */
  environment?: (stack: LocalAzure, closedPort: number) => Record<string, string | undefined>;
  /** How main() must settle: `rejected <error class> <code>`. */
  settled: string;
  /** What the error's message must say. */
  message: RegExp;
}

const cases: Case[] = [
  {
    name: 'unknown principal (18456: the identity has no database user)',
    // The system-assigned identity has no user in the local database, as a fresh Azure SQL would not.
    options: "tokenProvider: createTokenProvider({ identity: 'system-assigned' })",
    settled: 'rejected AuthorizationError authorization',
    message: /refused the login of .*Login failed for user/,
  },
  {
    name: 'unreachable server',
    options: 'port: closedPort, connectTimeoutMs: 2000',
    settled: 'rejected ServiceUnavailableError unavailable',
    message: /could not be reached/,
  },
  {
    name: 'untrusted certificate (the local CA is not trusted)',
    options: '',
    environment: () => ({ NODE_EXTRA_CA_CERTS: undefined }),
    settled: 'rejected ConfigurationError configuration',
    message: /the server's TLS certificate is not trusted/,
  },
  {
    name: 'guard refusal (NODE_TLS_REJECT_UNAUTHORIZED=0 with a remote server)',
    options: `server: '${remoteLookingHost}'`,
    environment: () => ({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }),
    settled: 'rejected ConfigurationError configuration',
    message: /NODE_TLS_REJECT_UNAUTHORIZED=0/,
  },
  {
    name: 'guard refusal (an option that switches certificate checks off)',
    options: 'trustServerCertificate: true',
    settled: 'rejected ConfigurationError configuration',
    message: /`trustServerCertificate`/,
  },
  {
    name: 'identity endpoint down',
    options: 'connectTimeoutMs: 5000',
    environment: (stack, closedPort) => ({
      IDENTITY_ENDPOINT: stack.env.IDENTITY_ENDPOINT?.replace(/:\d+\//, `:${closedPort}/`),
    }),
    // The provider's own error, passed through: it names the identity endpoint, not the SQL server.
    settled: 'rejected ServiceUnavailableError unavailable',
    message: /from the identity endpoint at .* failed/,
  },
];

describe('a one-off script', () => {
  let stack: LocalAzure;
  let closedPort: number;

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['sql'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
    closedPort = await findFreePort();
  });

  afterAll(async () => {
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
const closedPort = ${closedPort};
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
    const result = await run(testCase.options, testCase.environment?.(stack, closedPort));
    expect(result.settled).toBe(testCase.settled);
    expect(/^KEYLESS_MESSAGE (.*)$/m.exec(result.output)?.[1]).toMatch(testCase.message);
    expect(result.stillAlive).toBeUndefined();
    expect(result.exitCode).toBe(0);
  });
});
