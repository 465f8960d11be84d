import type { BlobConnector } from '@keyless/blob';
import type { TokenProvider } from '@keyless/core';
import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import type { KeyVaultConnector } from '@keyless/keyvault';
import type { PostgresConnector } from '@keyless/postgres';
import type { RedisConnector } from '@keyless/redis';
import type { SqlConnector } from '@keyless/sql';
import { type ConnectorPackage, loadConnector } from '../connector-loader.js';
import type { DoctorConfiguration } from '../doctor-configuration.js';
import type { ProbeReport } from '../doctor-report.js';
import type { FixContext } from '../failure-fixes.js';
import { runProbe } from './probe-runner.js';

type Factories = {
  '@keyless/keyvault': { createKeyVaultConnector(options: object): KeyVaultConnector };
  '@keyless/blob': { createBlobConnector(options: object): BlobConnector };
  '@keyless/sql': { createSqlConnector(options: object): SqlConnector };
  '@keyless/postgres': { createPostgresConnector(options: object): PostgresConnector };
  '@keyless/redis': { createRedisConnector(options: object): RedisConnector };
};

export interface ProbeOptions {
  provider: TokenProvider;
  timeoutMs: number;
  context: FixContext;
}

/** A probe that could not run because its connector is not installed: a warning, with what to install. */
function missingConnector(name: ConnectorPackage, operation: string): ProbeReport {
  return {
    operation,
    status: 'warn',
    failure: {
      code: 'missing-connector',
      cause: `${name} is not installed here, so the doctor cannot probe this resource (the token was checked)`,
      fix: [`install ${name} to probe it: npm install ${name}`],
      notes: [],
    },
  };
}

async function factories<Name extends ConnectorPackage>(name: Name): Promise<Factories[Name] | undefined> {
  return loadConnector<Factories[Name]>(name);
}

/** Key Vault: the configured secret read through a secret source (its value is dropped), else one page of one secret's properties. */
export async function probeKeyVault(
  settings: NonNullable<DoctorConfiguration['keyVault']>,
  options: ProbeOptions,
): Promise<ProbeReport> {
  const operation = settings.secretName ? `Get Secret ${settings.secretName}` : 'List Secrets (one)';
  const module = await factories('@keyless/keyvault');
  if (!module) return missingConnector('@keyless/keyvault', operation);
  return runProbe(
    operation,
    options.context,
    options.timeoutMs,
    () =>
      module.createKeyVaultConnector({
        vaultUrl: settings.vaultUrl,
        tokenProvider: options.provider,
        requestTimeoutMs: options.timeoutMs,
      }),
    async (opened, abortSignal) => {
      const connector = opened as KeyVaultConnector;
      if (settings.secretName) {
        await connector.connect({ secrets: [settings.secretName] });
        return;
      }
      await connector.client.listPropertiesOfSecrets({ abortSignal }).byPage({ maxPageSize: 1 }).next();
    },
  );
}

/** Blob: Get Container Properties of the configured container, else List Containers (one). */
export async function probeBlob(
  settings: NonNullable<DoctorConfiguration['blob']>,
  options: ProbeOptions,
): Promise<ProbeReport> {
  const operation = settings.container
    ? `Get Container Properties ${settings.container}`
    : 'List Containers (one)';
  const module = await factories('@keyless/blob');
  if (!module) return missingConnector('@keyless/blob', operation);
  return runProbe(
    operation,
    options.context,
    options.timeoutMs,
    () => module.createBlobConnector({ accountUrl: settings.accountUrl, tokenProvider: options.provider }),
    (opened) =>
      (opened as BlobConnector).connect(settings.container ? { container: settings.container } : {}),
  );
}

/** Azure SQL: one login and SELECT 1. */
export async function probeSql(
  settings: NonNullable<DoctorConfiguration['sql']>,
  options: ProbeOptions,
): Promise<ProbeReport> {
  const module = await factories('@keyless/sql');
  if (!module) return missingConnector('@keyless/sql', 'SELECT 1');
  return runProbe(
    'SELECT 1',
    options.context,
    options.timeoutMs,
    () =>
      module.createSqlConnector({
        server: settings.server,
        ...(settings.port === undefined ? {} : { port: settings.port }),
        ...(settings.database === undefined ? {} : { database: settings.database }),
        tokenProvider: options.provider,
        pool: { max: 1, acquireTimeoutMs: options.timeoutMs },
        connectTimeoutMs: options.timeoutMs,
        requestTimeoutMs: options.timeoutMs,
        // A transient refusal is reported, not waited out for a minute.
        loginRetry: { firstDelayMs: 1_000, budgetMs: Math.min(options.timeoutMs, 5_000) },
      }),
    async (opened) => {
      await (opened as SqlConnector).query('SELECT 1');
    },
  );
}

/** PostgreSQL, in one credential mode: one login and SELECT 1. */
export async function probePostgres(
  settings: NonNullable<DoctorConfiguration['postgres']>,
  mode: 'entra-token' | 'key-vault-secret',
  vaultUrl: string | undefined,
  options: ProbeOptions,
): Promise<ProbeReport> {
  const module = await factories('@keyless/postgres');
  if (!module) return missingConnector('@keyless/postgres', 'SELECT 1');
  return runProbe(
    'SELECT 1',
    options.context,
    options.timeoutMs,
    () =>
      module.createPostgresConnector({
        host: settings.host,
        ...(settings.port === undefined ? {} : { port: settings.port }),
        ...(settings.database === undefined ? {} : { database: settings.database }),
        ...(mode === 'entra-token'
          ? { user: settings.entraUser, password: entraToken() }
          : {
              user: settings.user,
              password: fromKeyVaultSecret({
                secretName: settings.passwordSecret as string,
                ...(vaultUrl === undefined ? {} : { vaultUrl }),
              }),
            }),
        tokenProvider: options.provider,
        pool: { max: 1 },
        connectRetryMs: 0,
        connectTimeoutMs: options.timeoutMs,
      }),
    async (opened) => {
      await (opened as PostgresConnector).query('SELECT 1');
    },
  );
}

/** Redis, in one credential mode: one login and PING. */
export async function probeRedis(
  settings: NonNullable<DoctorConfiguration['redis']>,
  mode: 'entra-token' | 'key-vault-secret',
  vaultUrl: string | undefined,
  options: ProbeOptions,
): Promise<ProbeReport> {
  const module = await factories('@keyless/redis');
  if (!module) return missingConnector('@keyless/redis', 'PING');
  return runProbe(
    'PING',
    options.context,
    options.timeoutMs,
    () =>
      module.createRedisConnector({
        host: settings.host,
        // The TLS port when there is one, as the connectors prefer it.
        ...(settings.tlsPort !== undefined
          ? { port: settings.tlsPort, tls: true }
          : settings.port !== undefined
            ? { port: settings.port }
            : {}),
        ...(mode === 'entra-token'
          ? { user: settings.entraUser, password: entraToken() }
          : {
              ...(settings.user === undefined ? {} : { user: settings.user }),
              password: fromKeyVaultSecret({
                secretName: settings.passwordSecret as string,
                ...(vaultUrl === undefined ? {} : { vaultUrl }),
              }),
            }),
        tokenProvider: options.provider,
        // connect() settles with the first login's answer; the connector stops reconnecting at close().
        redisOptions: { lazyConnect: true, connectTimeout: options.timeoutMs },
      }),
    async (opened) => {
      const connector = opened as RedisConnector;
      await connector.connect();
      await connector.client.ping();
    },
  );
}
