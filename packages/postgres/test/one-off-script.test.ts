import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { runOneOffScript, startTlsInterceptor, type TlsInterceptor } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A user's one-off script (`main().then(…)`, no server) must see every failure as a typed error,
 * and exit on its own once it has closed the connector. Before, a refused login in secret mode left
 * `main()` pending while the only thing left was an unref'd timer — the process exited 0 with
 * neither branch run — and a failed password lookup left pg's socket open until the server's
 * authentication_timeout (60 s).
 *
 * A server that is not there (a closed port) is the lifecycle group's one-off script in
 * test/conformance.test.ts; options the guard refuses fail at construction, before anything could
 * keep the process alive: the configuration group.
 */
interface ScriptCase {
  name: string;
  /** Properties of the options object, as source text. */
  options: string;
  /** Runs between createPostgresConnector() and the query. */
  beforeQuery?: string;
  /** Variables that differ from the stack's. */
  env?: () => Record<string, string>;
  settled: string;
}

const folder = process.cwd();

describe('@keyless/postgres in a one-off script: main() settles with a typed error and the process exits', () => {
  let stack: LocalAzure;
  let untrusted: TlsInterceptor;

  beforeAll(async () => {
    const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER as string;
    stack = await startLocalAzure({ services: ['postgres'], stateFolder });
    stack.keyVault?.setSecret('wrong-postgres-password', 'not-the-servers-password-4711');
    untrusted = await startTlsInterceptor({
      upstreamPort: Number(stack.env.KEYLESS_POSTGRES_PORT),
      certificate: 'untrusted-ca',
      stateFolder,
      preamble: 'postgres',
    });
  });

  afterAll(async () => {
    await untrusted?.stop();
    await stack?.stop();
  });

  const cases: ScriptCase[] = [
    {
      name: 'success, secret mode (the control: the harness sees a clean run)',
      options: 'password: fromKeyVaultSecret()',
      settled: 'resolved 1',
    },
    {
      name: 'success, Entra mode',
      options: 'user: process.env.KEYLESS_POSTGRES_ENTRA_USER, password: entraToken()',
      settled: 'resolved 1',
    },
    {
      name: 'wrong password (refused, re-read, refused again)',
      options: "password: fromKeyVaultSecret({ secretName: 'wrong-postgres-password' })",
      settled: 'rejected AuthenticationFailedError authentication-failed',
    },
    {
      name: 'wrong user',
      options: "user: 'no_such_user', password: fromKeyVaultSecret()",
      settled: 'rejected AuthenticationFailedError authentication-failed',
    },
    {
      name: 'wrong user, Entra mode (a client id instead of the role name)',
      options: 'user: process.env.AZURE_CLIENT_ID, password: entraToken()',
      settled: 'rejected AuthenticationFailedError authentication-failed',
    },
    {
      name: 'unknown secret',
      options: "password: fromKeyVaultSecret({ secretName: 'no-such-secret' })",
      settled: 'rejected ConfigurationError configuration',
    },
    {
      name: 'untrusted certificate',
      options: 'password: fromKeyVaultSecret()',
      env: () => ({ KEYLESS_POSTGRES_HOST: 'localhost', KEYLESS_POSTGRES_PORT: String(untrusted.port) }),
      settled: 'rejected ConfigurationError configuration',
    },
    {
      name: 'guard refusal (NODE_TLS_REJECT_UNAUTHORIZED=0 set after construction, remote host)',
      options: "host: 'keyless-target.test', password: fromKeyVaultSecret()",
      beforeQuery: "process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';",
      settled: 'rejected ConfigurationError configuration',
    },
  ];

  it.each(cases)('$name', async (scriptCase) => {
    const result = await runOneOffScript(
      folder,
      `import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { createPostgresConnector } from '@keyless/postgres';
async function main() {
  const db = createPostgresConnector({ ${scriptCase.options} });
  try {
    ${scriptCase.beforeQuery ?? ''}
    return (await db.query('SELECT 1 AS one')).rows[0].one;
  } finally {
    await db.close();
  }
}`,
      // The kill switch only detects a hang; a refused login settles in about 2 s here.
      { env: { ...process.env, ...stack.env, ...scriptCase.env?.() }, timeoutMs: 30_000 },
    );
    expect(result.settled).toBe(scriptCase.settled);
    // main() settles after close(): exit code 3 would mean something kept the loop alive a second on.
    expect(result.stillAlive).toBeUndefined();
    expect(result.exitCode).toBe(0);
    // A boolean, so that a failure cannot print what it found.
    expect(/eyJ[\w-]{10,}\.eyJ|not-the-servers-password/.test(result.output)).toBe(false);
  });

  it('warns once about credential-printing debug output in production, from the factory itself', async () => {
    // A provider of the script's own, so that only createPostgresConnector can be the one warning.
    const result = await runOneOffScript(
      folder,
      `import { entraToken } from '@keyless/core';
import { createPostgresConnector } from '@keyless/postgres';
async function main() {
  const tokenProvider = { getToken: async () => { throw new Error('not called'); }, on: () => () => {}, close: async () => {} };
  const db = createPostgresConnector({ host: '127.0.0.1', user: 'app', password: entraToken(), tokenProvider });
  await db.close();
  return 'closed';
}`,
      { env: { ...process.env, NODE_ENV: 'production', NODE_DEBUG: 'tls' }, timeoutMs: 30_000 },
    );
    expect(result.settled).toBe('resolved "closed"');
    expect(result.output.match(/KEYLESS_DEBUG_OUTPUT/g)).toHaveLength(1);
    expect(result.output).toContain('NODE_DEBUG=tls');
  });
});
