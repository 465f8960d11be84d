import { join } from 'node:path';
import { findFreePort, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { runOneOffScript } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * An application's one-off script (a migration, a cron job): `main()` creates the connector, reads
 * a blob through `run()` and closes the connector in `finally`, with nothing else keeping the
 * process alive. Whatever goes wrong, `main()` must settle with a typed error (a keyless one where
 * the cause is keyless's to explain; the SDK's own 404 for a missing blob, which is the
 * application's business), and the process must then exit on its own within a second
 * (runOneOffScript reports exit code 3 and what kept it alive otherwise). The scripts import the
 * built package (`@keyless/blob` resolves to dist/, built before `test`).
 *
 * An account that does not answer (a closed port) is the lifecycle group's one-off script in
 * test/conformance.test.ts; options the guard refuses fail at construction, before anything could
 * keep the process alive: the configuration group.
 */

const packageFolder = process.cwd();

interface Case {
  name: string;
  /** Options passed to createBlobConnector, as source text. */
  options?: string;
  /** The blob main() reads from the seeded container. */
  blob?: string;
  /** Changes to the stack's environment (undefined removes a variable). */
  environment?: (stack: LocalAzure, closedPort: number) => Record<string, string | undefined>;
  /** How main() must settle: `resolved …` or `rejected <error class> <code>`. */
  settled: string;
  /** What the error's message must say. */
  message?: RegExp;
}

const cases: Case[] = [
  {
    name: 'control: the blob is read',
    settled: 'resolved true',
  },
  {
    name: 'identity endpoint not reachable',
    options: 'clientOptions: { retryOptions: { maxTries: 1 } }',
    environment: (stack, closedPort) => ({
      IDENTITY_ENDPOINT: stack.env.IDENTITY_ENDPOINT?.replace(/:\d+\//, `:${closedPort}/`),
    }),
    // The provider's own error, passed through: it names the identity endpoint, not the account.
    settled: 'rejected ServiceUnavailableError unavailable',
    message: /identity endpoint/,
  },
  {
    name: 'a token for another audience (Azurite answers 403 AuthenticationFailed)',
    options: `tokenProvider: (() => {
      const inner = createTokenProvider();
      return { getToken: (_scopes, options) => inner.getToken('https://vault.azure.net/.default', options), close: () => inner.close() };
    })()`,
    settled: 'rejected AuthenticationFailedError authentication-failed',
    message: /rejected the token/,
  },
  {
    // downloadToBuffer asks for the properties first: a HEAD, whose 404 has no body, code or message.
    name: 'missing blob (the SDK 404 is passed through)',
    blob: 'no-such-blob.txt',
    settled: 'rejected RestError',
  },
  {
    name: 'untrusted certificate (the local CA is not trusted)',
    environment: () => ({ NODE_EXTRA_CA_CERTS: undefined }),
    settled: 'rejected ConfigurationError configuration',
    message: /the server's TLS certificate is not trusted/,
  },
  {
    name: 'untrusted certificate, then trusted through the option the error names',
    options: "clientOptions: { tlsOptions: { ca: readFileSync(process.env.KEYLESS_TEST_CA, 'utf8') } }",
    environment: () => ({ NODE_EXTRA_CA_CERTS: undefined }),
    settled: 'resolved true',
  },
];

describe('a one-off script', () => {
  let stack: LocalAzure;
  let closedPort: number;

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['blob'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
    closedPort = await findFreePort();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const run = (testCase: Case) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...stack.env,
      KEYLESS_TEST_CA: join(process.env.KEYLESS_TEST_STATE_FOLDER as string, 'ca', 'ca.pem'),
    };
    for (const [name, value] of Object.entries(testCase.environment?.(stack, closedPort) ?? {})) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    return runOneOffScript(
      packageFolder,
      `import { readFileSync } from 'node:fs';
import { createTokenProvider } from '@keyless/core';
import { createBlobConnector } from '@keyless/blob';
async function main() {
  let blobs;
  try {
    blobs = createBlobConnector({ ${testCase.options ?? ''} });
    const content = await blobs.run((client) =>
      client.getContainerClient('keyless-demo').getBlobClient('${testCase.blob ?? 'hello.txt'}').downloadToBuffer(),
    );
    return content.length > 0;
  } catch (error) {
    console.log(\`KEYLESS_MESSAGE \${error.message}\`);
    throw error;
  } finally {
    await blobs?.close();
  }
}`,
      { env, timeoutMs: 60_000 },
    );
  };

  it('warns once, in production, when NODE_DEBUG would make Node print the token', async () => {
    // A provider of the caller's own: the warning must come from the connector's factory, not from
    // createTokenProvider (which warns too). Two connectors, one warning.
    const result = await runOneOffScript(
      packageFolder,
      `import { createBlobConnector } from '@keyless/blob';
async function main() {
  const tokenProvider = { getToken: async () => null };
  const first = createBlobConnector({ accountUrl: 'https://keylessaccount.blob.core.windows.net', tokenProvider });
  const second = createBlobConnector({ accountUrl: 'https://keylessaccount.blob.core.windows.net', tokenProvider });
  await first.close();
  await second.close();
}`,
      { env: { ...process.env, NODE_ENV: 'production', NODE_DEBUG: 'https' } },
    );
    expect(result.settled).toBe('resolved null');
    expect(result.output.match(/KEYLESS_DEBUG_OUTPUT/g)?.length).toBe(1);
    expect(result.output).toContain('NODE_DEBUG=https');
    expect(result.exitCode).toBe(0);
  });

  it.each(cases)('$name: main() settles ($settled), and the process exits', async (testCase) => {
    const result = await run(testCase);
    expect(result.settled).toBe(testCase.settled);
    if (testCase.message)
      expect(/^KEYLESS_MESSAGE (.*)$/m.exec(result.output)?.[1]).toMatch(testCase.message);
    expect(result.stillAlive).toBeUndefined();
    expect(result.exitCode).toBe(0);
  });
});
