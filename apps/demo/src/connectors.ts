import { type BlobConnector, createBlobConnector } from '@keyless/blob';
import { createTokenProvider, entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import { createKeyVaultConnector, type KeyVaultConnector } from '@keyless/keyvault';
import { createPostgresConnector, type PostgresConnector, type PostgresPoolOptions } from '@keyless/postgres';
import { createRedisConnector, type RedisConnector, type RedisConnectorOptions } from '@keyless/redis';
import { createSqlConnector, type SqlConnector, type SqlConnectorOptions } from '@keyless/sql';
import type { BackendName, ResourceConfig } from './config.js';

/** The five connectors, all fed by ONE token provider (one token cache for the whole app). */
export interface ConnectorSet {
  readonly backend: BackendName;
  readonly tokenProvider: TokenProvider;
  readonly blob: BlobConnector;
  readonly keyVault: KeyVaultConnector;
  readonly sql: SqlConnector;
  readonly postgres: PostgresConnector;
  readonly redis: RedisConnector;
  close(): Promise<void>;
}

export interface ConnectorListeners {
  onPostgresPasswordRefused(): void;
  onRedisPasswordRefreshed(): void;
  onWarning(message: string, error: unknown): void;
}

/**
 * What the fault suite shortens so that a fault reaches logins and secret refreshes within seconds
 * instead of once per pool lifetime (30 min) or secret refresh (5 min). The app passes nothing and
 * keeps every connector's defaults.
 */
export interface ConnectorTuning {
  sql?: Pick<SqlConnectorOptions, 'pool' | 'connectTimeoutMs' | 'requestTimeoutMs'>;
  postgres?: { pool?: PostgresPoolOptions; passwordRefreshIntervalMs?: number };
  /**
   * `entraUser`: Redis in Entra mode instead of the Key Vault secret — this user (the identity's
   * object id, from configuration as in Azure) and a token as the password, re-sent with AUTH on the
   * live connection before each token expires. The fault suite lets tokens expire under load with it.
   */
  redis?: { entraUser?: string };
}

function redisCredentials(
  resources: ResourceConfig,
  keyVault: KeyVaultConnector,
  entraUser: string | undefined,
): Pick<RedisConnectorOptions, 'password' | 'user'> {
  if (entraUser) return { password: entraToken(), user: entraUser };
  return {
    password: fromKeyVaultSecret({ connector: keyVault, secretName: resources.redis.passwordSecret }),
    ...(resources.redis.user ? { user: resources.redis.user } : {}),
  };
}

export async function createConnectorSet(
  resources: ResourceConfig,
  backend: BackendName,
  listeners: ConnectorListeners,
  tuning: ConnectorTuning = {},
): Promise<ConnectorSet> {
  // Identity: AZURE_CLIENT_ID (user-assigned) or the system-assigned identity, read by keyless.
  const tokenProvider = createTokenProvider({ backend });
  const blob = createBlobConnector({ accountUrl: resources.blob.accountUrl, tokenProvider });
  const keyVault = createKeyVaultConnector({ vaultUrl: resources.keyVault.vaultUrl, tokenProvider });
  const sql = createSqlConnector({
    server: resources.sql.server,
    port: resources.sql.port,
    database: resources.sql.database,
    tokenProvider,
    ...tuning.sql,
    pool: { max: 4, ...tuning.sql?.pool },
  });
  const postgres = createPostgresConnector({
    host: resources.postgres.host,
    port: resources.postgres.port,
    database: resources.postgres.database,
    user: resources.postgres.user,
    password: fromKeyVaultSecret({
      connector: keyVault,
      secretName: resources.postgres.passwordSecret,
      ...(tuning.postgres?.passwordRefreshIntervalMs === undefined
        ? {}
        : { refreshIntervalMs: tuning.postgres.passwordRefreshIntervalMs }),
    }),
    tokenProvider,
    pool: { max: 4, ...tuning.postgres?.pool },
  });
  postgres.on('password-refused', () => listeners.onPostgresPasswordRefused());
  postgres.on('idle-connection-error', ({ error }) =>
    listeners.onWarning('postgres idle connection ended', error),
  );
  let redis: RedisConnector;
  try {
    redis = createRedisConnector({
      host: resources.redis.host,
      port: resources.redis.port,
      tls: true,
      ...redisCredentials(resources, keyVault, tuning.redis?.entraUser),
      tokenProvider,
      // Connect on first use: an unreachable cache shows on its card instead of stopping the app.
      redisOptions: { lazyConnect: true, maxRetriesPerRequest: 5 },
    });
  } catch (error) {
    await Promise.allSettled([sql.close(), postgres.close(), blob.close(), keyVault.close()]);
    await tokenProvider.close();
    throw error;
  }
  redis.on('password-refreshed', () => listeners.onRedisPasswordRefreshed());
  redis.client.on('error', (error: unknown) => listeners.onWarning('redis connection error', error));

  let closing: Promise<void> | undefined;
  return {
    backend,
    tokenProvider,
    blob,
    keyVault,
    sql,
    postgres,
    redis,
    close() {
      closing ??= (async () => {
        await Promise.allSettled([redis.close(), postgres.close(), sql.close(), blob.close()]);
        await keyVault.close();
        await tokenProvider.close();
      })();
      return closing;
    },
  };
}
