import net from 'node:net';
import { join } from 'node:path';
import { findFreePort, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { runOneOffScript } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * An application's one-off script (a migration, a cron job): `main()` creates the connector, reads
 * a secret and closes the connector in `finally`, with nothing else keeping the process alive.
 * Whatever goes wrong, `main()` must settle with a typed keyless error, and the process must then
 * exit on its own within a second (runOneOffScript reports exit code 3 and what kept it alive
 * otherwise). The scripts import the built package (`@keyless/keyvault` resolves to dist/, built
 * before `test`).
 *
 * A vault that does not answer (a closed port) is the lifecycle group's one-off script in
 * test/conformance.test.ts; options the guard refuses fail at construction, before anything could
 * keep the process alive: the configuration group.
 */

const packageFolder = process.cwd();

interface Ports {
  closed: number;
  /** Accepts connections and never answers: a vault or identity endpoint that hangs. */
  silent: number;
}

interface Case {
  name: string;
  /** Options passed to createKeyVaultConnector, as source text. */
  options?: string;
  /** The secret main() reads. */
  secret?: string;
  /** Source text run after the read started, e.g. a close() while it hangs. */
  meanwhile?: string;
  /** Changes to the stack's environment (undefined removes a variable). */
  environment?: (stack: LocalAzure, ports: Ports) => Record<string, string | undefined>;
  /** How main() must settle: `resolved …` or `rejected <error class> <code>`. */
  settled: string;
  /** What the error's message must say. */
  message?: RegExp;
}

const cases: Case[] = [
  {
    name: 'control: the secret is read',
    settled: 'resolved true',
  },
  {
    name: 'identity endpoint not reachable',
    environment: (stack, ports) => ({
      IDENTITY_ENDPOINT: stack.env.IDENTITY_ENDPOINT?.replace(/:\d+\//, `:${ports.closed}/`),
    }),
    // The provider's own error, passed through: it names the identity endpoint, not the vault.
    settled: 'rejected ServiceUnavailableError unavailable',
    message: /identity endpoint/,
  },
  {
    name: '403 from Key Vault (the identity has no role on the vault)',
    options: "tokenProvider: createTokenProvider({ identity: 'system-assigned' })",
    settled: 'rejected AuthorizationError authorization',
    message: /may not read secret 'demo-message'/,
  },
  {
    name: 'missing secret',
    secret: 'no-such-secret',
    settled: 'rejected ConfigurationError configuration',
    message: /secret no-such-secret does not exist/,
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
  {
    name: 'close() while the read hangs on a vault that never answers',
    environment: (_stack, ports) => ({ KEYLESS_KEYVAULT_URL: `https://127.0.0.1:${ports.silent}` }),
    meanwhile: 'setTimeout(() => vault.close(), 300);',
    settled: 'rejected ClosedError closed',
  },
  {
    name: 'a vault that never answers, and nobody closes: requestTimeoutMs ends the read',
    options: 'requestTimeoutMs: 1000',
    environment: (_stack, ports) => ({ KEYLESS_KEYVAULT_URL: `https://127.0.0.1:${ports.silent}` }),
    settled: 'rejected ServiceUnavailableError unavailable',
    message: /did not answer the read of secret 'demo-message' within requestTimeoutMs \(1000 ms\)/,
  },
];

describe('a one-off script', () => {
  let stack: LocalAzure;
  let ports: Ports;
  let silentServer: net.Server;
  const silentSockets = new Set<net.Socket>();

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['keyvault'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
    });
    silentServer = net.createServer((socket) => {
      silentSockets.add(socket);
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    ports = { closed: await findFreePort(), silent: (silentServer.address() as net.AddressInfo).port };
  });

  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy();
    await new Promise((resolve) => silentServer?.close(resolve));
    await stack?.stop();
  });

  const run = (testCase: Case) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...stack.env,
      KEYLESS_TEST_CA: join(process.env.KEYLESS_TEST_STATE_FOLDER as string, 'ca', 'ca.pem'),
    };
    for (const [name, value] of Object.entries(testCase.environment?.(stack, ports) ?? {})) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    return runOneOffScript(
      packageFolder,
      `import { readFileSync } from 'node:fs';
import { createTokenProvider } from '@keyless/core';
import { createKeyVaultConnector } from '@keyless/keyvault';
let vault;
async function main() {
  try {
    vault = createKeyVaultConnector({ ${testCase.options ?? ''} });
    const reading = vault.secret('${testCase.secret ?? 'demo-message'}').get();
    ${testCase.meanwhile ?? ''}
    // Never the value itself: the output is scanned for secrets.
    return (await reading).length > 0;
  } catch (error) {
    console.log(\`KEYLESS_MESSAGE \${error.message}\`);
    throw error;
  } finally {
    await vault?.close();
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
      `import { createKeyVaultConnector } from '@keyless/keyvault';
async function main() {
  const tokenProvider = { getToken: async () => null };
  const first = createKeyVaultConnector({ vaultUrl: 'https://keyless.vault.azure.net', tokenProvider });
  const second = createKeyVaultConnector({ vaultUrl: 'https://keyless.vault.azure.net', tokenProvider });
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
