import { setTimeout as delay } from 'node:timers/promises';
import { createTokenProvider, type TokenBackendName, type TokenProvider } from '@keyless/core';
import { type LocalAzure, type LocalServiceName, startLocalAzure } from '@keyless/local-azure';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useManagedIdentityEnvironment } from '../managed-identity-environment.js';
import { findLeaks, OutputCapture, renderEveryWay } from '../output-capture.js';
import { problemsMessage, settledOutcome } from './conformance-check.js';
import { describeThrown } from './problem-text.js';

/** What the group needs from one connector instance. */
export interface ConnectorUnderTest {
  /** One real operation against the local stack that needs a valid token or password. */
  use(): Promise<unknown>;
  /** The connector's `ready()` (readiness probes); reported as missing when absent. */
  ready?(): Promise<unknown>;
  close(): Promise<void>;
  /** Everything the connector hands to an application (itself, its client, results): none may print a secret. */
  printable(): unknown[];
}

export interface AgainstTheStackOptions {
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

/** The local stack a file's checks share, and the connectors they made. */
export interface StackSession {
  readonly stack: LocalAzure;
  /** A connector with a new provider for `backend`; both are closed by `cleanup()`. */
  connector(
    backend: TokenBackendName,
  ): Promise<{ tokenProvider: TokenProvider; connector: ConnectorUnderTest }>;
  /** After each check: closes what it made and restores the day-long token lifetime. */
  cleanup(): Promise<void>;
  stop(): Promise<void>;
}

/** A check that runs against the stack, with one token backend. */
export interface StackCheck {
  name: string;
  backend: TokenBackendName;
  /** Must run before any other check of the file (see `againstTheStackChecks`). */
  first: boolean;
  run(session: StackSession): Promise<string[]>;
}

const backends: readonly TokenBackendName[] = ['azure-identity', 'msal'];

/** How long a 6-second token may take to be refreshed before the check says it never was. */
const refreshBoundMs = 20_000;

/**
 * Starts the stack with the connector's services, and points this process's managed-identity
 * environment at it (App Service protocol; `stop()` puts the environment back).
 */
export async function startStackSession(options: AgainstTheStackOptions): Promise<StackSession> {
  const stack = await startLocalAzure({ services: options.services, stateFolder: requiredStateFolder() });
  const restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  const cleanups: (() => Promise<void>)[] = [];
  return {
    stack,
    connector: async (backend) => {
      const tokenProvider = createTokenProvider({
        backend,
        identity: { clientId: stack.appIdentity.clientId },
      });
      // Registered before create(): a factory that throws must not leave the provider open.
      cleanups.push(() => tokenProvider.close());
      const created = await options.create({ stack, tokenProvider });
      cleanups.push(() => created.close());
      return { tokenProvider, connector: created };
    },
    cleanup: async () => {
      stack.identity.setTokenLifetime(86_400);
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    },
    stop: async () => {
      restoreEnvironment();
      await stack.stop();
    },
  };
}

/**
 * What every connector must do against the local stack, with both token backends: connect and use,
 * keep working across a token refresh, close, and never print a token or a secret — in the views of
 * everything it returns, too. The refresh checks come first: azure-identity keeps MSAL's
 * process-wide token cache, so once any check has cached a 24-hour token for the resource, a new
 * provider is handed that token (no endpoint request) and has nothing to refresh while it waits.
 */
export function againstTheStackChecks(options: AgainstTheStackOptions): StackCheck[] {
  const refreshChecks = backends.map(
    (backend): StackCheck => ({
      name: 'keeps working across a token refresh (short-lived tokens)',
      backend,
      first: true,
      run: async (session) => {
        session.stack.identity.setTokenLifetime(6);
        const { tokenProvider, connector } = await session.connector(backend);
        const refreshed = new Promise<boolean>((resolve) =>
          tokenProvider.on('refreshed', () => resolve(true)),
        );
        const before = session.stack.identity.counters.byResource(options.resource);
        const first = await settledOutcome(() => connector.use());
        if (first.threw) return [`use() failed before the refresh: ${describeThrown(first.error)}`];
        // 6 s tokens are served for 4.5 s and refreshed halfway, in the background.
        const bound = new AbortController();
        const wasRefreshed = await Promise.race([
          refreshed,
          delay(refreshBoundMs, false, { signal: bound.signal }).catch(() => false),
        ]);
        bound.abort();
        if (!wasRefreshed)
          return [`the provider did not refresh a 6-second token within ${refreshBoundMs} ms`];
        const second = await settledOutcome(() => connector.use());
        if (second.threw) return [`use() failed after the refresh: ${describeThrown(second.error)}`];
        const requests = session.stack.identity.counters.byResource(options.resource) - before;
        return requests >= 2
          ? []
          : [
              `the identity endpoint was asked ${requests} time(s) for ${options.resource}; expected 2 or more`,
            ];
      },
    }),
  );
  const perBackend = backends.flatMap((backend): StackCheck[] => [
    {
      name: 'connects and uses the service',
      backend,
      first: false,
      run: async (session) => {
        const { connector } = await session.connector(backend);
        for (const attempt of ['first', 'second']) {
          const used = await settledOutcome(() => connector.use());
          if (used.threw) return [`the ${attempt} use() failed: ${describeThrown(used.error)}`];
        }
        return [];
      },
    },
    {
      name: 'closes: idempotent, and refuses use afterwards with a typed error',
      backend,
      first: false,
      run: async (session) => {
        const { connector } = await session.connector(backend);
        const used = await settledOutcome(() => connector.use());
        if (used.threw) return [`use() failed before close(): ${describeThrown(used.error)}`];
        const closing = await settledOutcome(async () => {
          await connector.close();
          await connector.close();
        });
        if (closing.threw) return [`closing twice failed: ${describeThrown(closing.error)}`];
        const afterClose = await settledOutcome(() => connector.use());
        if (!afterClose.threw) return ['use() after close() succeeded'];
        return (afterClose.error as { code?: unknown } | null)?.code === 'closed'
          ? []
          : [`use() after close() failed with ${describeThrown(afterClose.error)}, not code "closed"`];
      },
    },
    {
      name: 'ready(): resolves, then answers probes from what the process holds, and refuses after close()',
      backend,
      first: false,
      run: async (session) => {
        const { connector } = await session.connector(backend);
        if (typeof connector.ready !== 'function') {
          return ['the connector has no ready() for a readiness probe'];
        }
        const ready = connector.ready.bind(connector);
        const first = await settledOutcome(ready);
        if (first.threw) return [`the first ready() failed: ${describeThrown(first.error)}`];
        // Probes every few seconds must not turn into token requests (nor, by the connectors' own
        // tests, into requests to the service): the token is cached.
        const before = session.stack.identity.counters.byResource(options.resource);
        for (let probe = 0; probe < 10; probe += 1) {
          const again = await settledOutcome(ready);
          if (again.threw) return [`probe ${probe + 1} failed: ${describeThrown(again.error)}`];
        }
        const requests = session.stack.identity.counters.byResource(options.resource) - before;
        if (requests > 0) return [`ten probes asked the identity endpoint ${requests} time(s)`];
        await connector.close();
        const afterClose = await settledOutcome(ready);
        if (!afterClose.threw) return ['ready() after close() resolved'];
        return (afterClose.error as { code?: unknown } | null)?.code === 'closed'
          ? []
          : [`ready() after close() failed with ${describeThrown(afterClose.error)}, not code "closed"`];
      },
    },
    {
      name: 'never prints a token or a secret',
      backend,
      first: false,
      run: async (session) => {
        const capture = new OutputCapture({ passThrough: false }).start();
        let problem: string | undefined;
        try {
          const { connector } = await session.connector(backend);
          const used = await settledOutcome(() => connector.use());
          const result = used.threw ? used.error : used.value;
          if (used.threw) problem = `use() failed: ${describeThrown(used.error)}`;
          console.log('connector', ...connector.printable(), result);
          capture.add(...[result, ...connector.printable()].flatMap(renderEveryWay));
        } finally {
          capture.stop();
        }
        // Counted, never quoted: the report of a leak must not print what leaked.
        const tokens = findLeaks(capture.text, session.stack.identity.issuedTokens()).length;
        const secrets = findLeaks(capture.text, session.stack.keyVault?.secretValues() ?? []).length;
        return [
          ...(problem === undefined ? [] : [problem]),
          ...(tokens > 0 ? [`what was printed shows ${tokens} token(s) the identity endpoint issued`] : []),
          ...(secrets > 0 ? [`what was printed shows ${secrets} Key Vault secret value(s)`] : []),
        ];
      },
    },
  ]);
  return [...refreshChecks, ...perBackend];
}

/**
 * Registers the checks against the local stack as vitest tests (the stack starts before them and
 * stops after). One call per test file: MSAL pins the managed-identity protocol per process.
 */
export function describeAgainstTheStackConformance(options: AgainstTheStackOptions): void {
  describe(`connector conformance: ${options.name}`, () => {
    let session: StackSession | undefined;

    beforeAll(async () => {
      session = await startStackSession(options);
    });

    afterEach(async () => {
      await session?.cleanup();
    });

    afterAll(async () => {
      await session?.stop();
    });

    const checks = againstTheStackChecks(options);
    for (const first of [true, false]) {
      for (const backend of backends) {
        describe(`with the ${backend} backend${first ? ', first' : ''}`, () => {
          for (const check of checks.filter((each) => each.backend === backend && each.first === first)) {
            it(check.name, async () => {
              if (session === undefined) throw new Error('the local stack did not start');
              const problems = await check.run(session);
              expect(problems, problemsMessage(problems)).toEqual([]);
            });
          }
        });
      }
    }
  });
}

function requiredStateFolder(): string {
  const folder = process.env.KEYLESS_TEST_STATE_FOLDER;
  if (!folder)
    throw new Error('KEYLESS_TEST_STATE_FOLDER is not set: use the global setup of @keyless/testing');
  return folder;
}
