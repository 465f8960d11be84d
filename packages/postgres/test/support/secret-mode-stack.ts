import { createTokenProvider, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import { createKeyVaultConnector, type KeyVaultConnector } from '@keyless/keyvault';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  createPostgresConnector,
  type PostgresConnector,
  type PostgresConnectorOptions,
} from '../../src/index.js';

/** The secret the stack seeds with the PostgreSQL password. */
export const secretName = 'postgres-password';

export interface SecretModeStack {
  readonly stack: LocalAzure;
  readonly tokenProvider: TokenProvider;
  readonly vault: KeyVaultConnector;
  /** A connector to the stack's PostgreSQL in secret mode, closed after the test. */
  connect(options?: Partial<PostgresConnectorOptions>): PostgresConnector;
  /** Closes a connector made elsewhere after the test. */
  track(connector: PostgresConnector): PostgresConnector;
}

/**
 * For a describe block: the local stack with PostgreSQL, a managed-identity environment, one token
 * provider and one Key Vault connector for all its tests; every connector closed after each test.
 */
export function useSecretModeStack(): SecretModeStack {
  let stack: LocalAzure | undefined;
  let tokenProvider: TokenProvider | undefined;
  let vault: KeyVaultConnector | undefined;
  let restoreEnvironment: (() => void) | undefined;
  const connectors: PostgresConnector[] = [];
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the stack is used before beforeAll started it');
    return value;
  };

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['postgres'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
    });
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    tokenProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
    vault = createKeyVaultConnector({ vaultUrl: stack.env.KEYLESS_KEYVAULT_URL, tokenProvider });
  });

  afterEach(async () => {
    for (const connector of connectors.splice(0)) await connector.close();
  });

  afterAll(async () => {
    await vault?.close();
    await tokenProvider?.close();
    restoreEnvironment?.();
    await stack?.stop();
  });

  const fixture: SecretModeStack = {
    get stack() {
      return started(stack);
    },
    get tokenProvider() {
      return started(tokenProvider);
    },
    get vault() {
      return started(vault);
    },
    connect(options = {}) {
      const environment = fixture.stack.env;
      return fixture.track(
        createPostgresConnector({
          host: environment.KEYLESS_POSTGRES_HOST,
          port: Number(environment.KEYLESS_POSTGRES_PORT),
          database: environment.KEYLESS_POSTGRES_DATABASE,
          user: environment.KEYLESS_POSTGRES_USER,
          password: fromKeyVaultSecret({ connector: fixture.vault, secretName }),
          tokenProvider: fixture.tokenProvider,
          ...options,
        }),
      );
    },
    track(connector) {
      connectors.push(connector);
      return connector;
    },
  };
  return fixture;
}
