import { createTokenProvider, type TokenBackendName, type TokenProvider } from '@keyless/core';
import { type LocalAzure, type LocalServiceName, startLocalAzure } from '@keyless/local-azure';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useManagedIdentityEnvironment } from './managed-identity-environment.js';
import { findLeaks, OutputCapture, renderEveryWay } from './output-capture.js';

/** What the suite needs from one connector instance. */
export interface ConnectorUnderTest {
  /** One real operation against the local stack that needs a valid token or password. */
  use(): Promise<unknown>;
  close(): Promise<void>;
  /** Everything the connector hands to an application (itself, its client, results): none may print a secret. */
  printable(): unknown[];
}

export interface ConnectorConformanceOptions {
  /** e.g. `@keyless/blob`. */
  name: string;
  /** Services the connector talks to; the identity endpoint always runs. */
  services: LocalServiceName[];
  /** The resource whose tokens the connector asks for, e.g. `https://storage.azure.com`. */
  resource: string;
  create(context: {
    stack: LocalAzure;
    tokenProvider: TokenProvider;
  }): Promise<ConnectorUnderTest> | ConnectorUnderTest;
}

const backends: readonly TokenBackendName[] = ['azure-identity', 'msal'];

/**
 * What every connector must do against the local stack, with both token backends: connect and
 * use, keep working across a token refresh, close, and never print a token or a secret.
 * One call per test file (MSAL pins the managed-identity protocol per process).
 */
export function describeConnectorConformance(options: ConnectorConformanceOptions): void {
  describe(`connector conformance: ${options.name}`, () => {
    let stack: LocalAzure;
    let restoreEnvironment: () => void;
    const cleanups: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      stack = await startLocalAzure({
        services: options.services,
        stateFolder: requiredStateFolder(),
      });
      restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    });

    afterEach(async () => {
      stack.identity.setTokenLifetime(86_400);
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    afterAll(async () => {
      restoreEnvironment?.();
      await stack?.stop();
    });

    async function connector(backend: TokenBackendName) {
      const tokenProvider = createTokenProvider({
        backend,
        identity: { clientId: stack.appIdentity.clientId },
      });
      const created = await options.create({ stack, tokenProvider });
      cleanups.push(async () => {
        await created.close();
        await tokenProvider.close();
      });
      return { tokenProvider, connector: created };
    }

    // Before any other test: azure-identity keeps MSAL's process-wide token cache, so once a test
    // has cached a 24-hour token for this resource, a new provider is handed that token (no
    // endpoint request) and has nothing to refresh while the test waits.
    for (const backend of backends) {
      describe(`with the ${backend} backend, first`, () => {
        it('keeps working across a token refresh (short-lived tokens)', async () => {
          stack.identity.setTokenLifetime(6);
          const { tokenProvider, connector: created } = await connector(backend);
          const refreshed = new Promise((resolve) => tokenProvider.on('refreshed', resolve));
          const before = stack.identity.counters.byResource(options.resource);
          await created.use();
          // 6 s tokens are served for 4.5 s and refreshed halfway, in the background.
          await refreshed;
          await created.use();
          expect(stack.identity.counters.byResource(options.resource) - before).toBeGreaterThanOrEqual(2);
        });
      });
    }

    for (const backend of backends) {
      describe(`with the ${backend} backend`, () => {
        it('connects and uses the service', async () => {
          const { connector: created } = await connector(backend);
          await created.use();
          await created.use();
        });

        it('closes: idempotent, and refuses use afterwards with a typed error', async () => {
          const { connector: created } = await connector(backend);
          await created.use();
          await created.close();
          await created.close();
          await expect(created.use()).rejects.toMatchObject({ code: 'closed' });
        });

        it('never prints a token or a secret', async () => {
          const capture = new OutputCapture({ passThrough: false }).start();
          try {
            const { connector: created } = await connector(backend);
            const result = await created.use();
            console.log('connector', ...created.printable(), result);
            capture.add(...[result, ...created.printable()].flatMap(renderEveryWay));
          } finally {
            capture.stop();
          }
          const secrets = [...stack.identity.issuedTokens(), ...(stack.keyVault?.secretValues() ?? [])];
          expect(findLeaks(capture.text, secrets)).toEqual([]);
        });
      });
    }
  });
}

function requiredStateFolder(): string {
  const folder = process.env.KEYLESS_TEST_STATE_FOLDER;
  if (!folder)
    throw new Error('KEYLESS_TEST_STATE_FOLDER is not set: use the global setup of @keyless/testing');
  return folder;
}
