import { readFile } from 'node:fs/promises';
import { ConfigurationError, type Environment } from '@keyless/core';

/**
 * What the doctor checks, as an options file (`keyless doctor --config doctor.json`) gives it. Every
 * member is optional and wins over the environment, which is read as the connectors read it
 * (`KEYLESS_*`, `AZURE_CLIENT_ID`, …). A resource is checked when its address is known.
 */
export interface DoctorOptionsFile {
  tokenProvider?: {
    backend?: 'azure-identity' | 'msal';
    identity?: IdentityOption;
  };
  keyVault?: { vaultUrl?: string; secretName?: string };
  blob?: { accountUrl?: string; container?: string };
  sql?: { server?: string; port?: number; database?: string };
  postgres?: PasswordServiceOptions & { database?: string };
  redis?: PasswordServiceOptions & { tlsPort?: number };
}

/** A user-assigned identity by one of its ids, or the system-assigned one (as `createTokenProvider` takes it). */
export type IdentityOption =
  | { clientId: string }
  | { resourceId: string }
  | { objectId: string }
  | 'system-assigned';

/** PostgreSQL and Redis: the server, and the credentials to check (either or both). */
export interface PasswordServiceOptions {
  host?: string;
  port?: number;
  /** The user whose password is the Key Vault secret `passwordSecret`. */
  user?: string;
  passwordSecret?: string;
  /** Entra mode: PostgreSQL's role name for the identity, Redis's user (the identity's object id). */
  entraUser?: string;
}

/** The resolved configuration: options file first, then the environment. */
export interface DoctorConfiguration {
  backend: { value: 'azure-identity' | 'msal'; from: string };
  /** `fromFile`: given by the options file (else core reads the environment itself). */
  identity: { value: IdentityOption; from: string; fromFile: boolean };
  keyVault?: { vaultUrl: string; secretName?: string };
  blob?: { accountUrl: string; container?: string };
  sql?: { server: string; port?: number; database?: string };
  postgres?: PasswordServiceOptions & { host: string; database?: string };
  redis?: PasswordServiceOptions & { host: string; tlsPort?: number };
}

/** Reads and checks an options file; a file that cannot be read or parsed is a ConfigurationError. */
export async function readOptionsFile(path: string): Promise<DoctorOptionsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`The options file ${path} cannot be read`, {
      cause: error,
      hint: 'pass the path of a JSON file with --config, or leave --config out to use the environment only',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`The options file ${path} is not valid JSON`, {
      cause: error,
      hint: 'see the options file section of the @keyless/doctor README for its shape',
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(`The options file ${path} must hold a JSON object`, {
      hint: 'e.g. { "keyVault": { "vaultUrl": "https://<vault>.vault.azure.net" } }',
    });
  }
  const known = ['tokenProvider', 'keyVault', 'blob', 'sql', 'postgres', 'redis'];
  const unknown = Object.keys(parsed).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new ConfigurationError(`The options file ${path} has unknown members: ${unknown.join(', ')}`, {
      hint: `use ${known.join(', ')}`,
    });
  }
  return parsed as DoctorOptionsFile;
}

/** The first non-empty of the option and the variables, with where it came from. */
function pick(
  option: unknown,
  optionName: string,
  environment: Environment,
  variables: readonly string[],
): { value: string; from: string } | undefined {
  if (typeof option === 'string' && option.trim() !== '') return { value: option.trim(), from: optionName };
  if (typeof option === 'number') return { value: String(option), from: optionName };
  for (const variable of variables) {
    const value = environment[variable]?.trim();
    if (value) return { value, from: variable };
  }
  return undefined;
}

function portOf(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ConfigurationError(`${name} is not a port number: '${text}'`, { hint: 'give 1–65535' });
  }
  return port;
}

/**
 * Options file first, environment second — the variables each connector reads
 * (packages/<connector>/src/*options*), plus the demo's `KEYLESS_DEMO_SECRET_NAME` and
 * `KEYLESS_DEMO_BLOB_CONTAINER` for what to read. Values are checked by the connectors themselves.
 */
export function resolveDoctorConfiguration(
  file: DoctorOptionsFile,
  environment: Environment,
): DoctorConfiguration {
  const backendPick = pick(file.tokenProvider?.backend, 'tokenProvider.backend', environment, [
    'KEYLESS_TOKEN_PROVIDER',
  ]);
  const backend = backendPick ?? { value: 'azure-identity', from: 'default' };
  if (backend.value !== 'azure-identity' && backend.value !== 'msal') {
    throw new ConfigurationError(`${backend.from} is '${backend.value}', not a token backend`, {
      hint: 'use azure-identity or msal',
    });
  }
  const identity = resolveIdentity(file, environment);
  const configuration: DoctorConfiguration = {
    backend: backend as DoctorConfiguration['backend'],
    identity,
  };

  const vaultUrl = pick(file.keyVault?.vaultUrl, 'keyVault.vaultUrl', environment, ['KEYLESS_KEYVAULT_URL']);
  if (vaultUrl) {
    const secretName = pick(file.keyVault?.secretName, 'keyVault.secretName', environment, [
      'KEYLESS_DEMO_SECRET_NAME',
    ]);
    configuration.keyVault = {
      vaultUrl: vaultUrl.value,
      ...(secretName ? { secretName: secretName.value } : {}),
    };
  }

  const accountUrl = pick(file.blob?.accountUrl, 'blob.accountUrl', environment, [
    'KEYLESS_BLOB_ACCOUNT_URL',
  ]);
  if (accountUrl) {
    const container = pick(file.blob?.container, 'blob.container', environment, [
      'KEYLESS_DEMO_BLOB_CONTAINER',
    ]);
    configuration.blob = {
      accountUrl: accountUrl.value,
      ...(container ? { container: container.value } : {}),
    };
  }

  const server = pick(file.sql?.server, 'sql.server', environment, ['KEYLESS_SQL_SERVER']);
  if (server) {
    const port = portOf(
      pick(file.sql?.port, 'sql.port', environment, ['KEYLESS_SQL_PORT'])?.value,
      'sql port',
    );
    const database = pick(file.sql?.database, 'sql.database', environment, ['KEYLESS_SQL_DATABASE']);
    configuration.sql = {
      server: server.value,
      ...(port === undefined ? {} : { port }),
      ...(database ? { database: database.value } : {}),
    };
  }

  const postgresHost = pick(file.postgres?.host, 'postgres.host', environment, ['KEYLESS_POSTGRES_HOST']);
  if (postgresHost) {
    const options = file.postgres ?? {};
    const port = portOf(
      pick(options.port, 'postgres.port', environment, ['KEYLESS_POSTGRES_PORT'])?.value,
      'postgres port',
    );
    configuration.postgres = {
      host: postgresHost.value,
      ...optional('port', port),
      ...optional(
        'database',
        pick(options.database, 'postgres.database', environment, ['KEYLESS_POSTGRES_DATABASE'])?.value,
      ),
      ...optional('user', pick(options.user, 'postgres.user', environment, ['KEYLESS_POSTGRES_USER'])?.value),
      ...optional(
        'passwordSecret',
        pick(options.passwordSecret, 'postgres.passwordSecret', environment, [
          'KEYLESS_POSTGRES_PASSWORD_SECRET',
        ])?.value,
      ),
      ...optional(
        'entraUser',
        pick(options.entraUser, 'postgres.entraUser', environment, ['KEYLESS_POSTGRES_ENTRA_USER'])?.value,
      ),
    };
  }

  const redisHost = pick(file.redis?.host, 'redis.host', environment, ['KEYLESS_REDIS_HOST']);
  if (redisHost) {
    const options = file.redis ?? {};
    configuration.redis = {
      host: redisHost.value,
      ...optional(
        'port',
        portOf(pick(options.port, 'redis.port', environment, ['KEYLESS_REDIS_PORT'])?.value, 'redis port'),
      ),
      ...optional(
        'tlsPort',
        portOf(
          pick(options.tlsPort, 'redis.tlsPort', environment, ['KEYLESS_REDIS_TLS_PORT'])?.value,
          'redis TLS port',
        ),
      ),
      ...optional('user', pick(options.user, 'redis.user', environment, ['KEYLESS_REDIS_USER'])?.value),
      ...optional(
        'passwordSecret',
        pick(options.passwordSecret, 'redis.passwordSecret', environment, ['KEYLESS_REDIS_PASSWORD_SECRET'])
          ?.value,
      ),
      ...optional(
        'entraUser',
        pick(options.entraUser, 'redis.entraUser', environment, ['KEYLESS_REDIS_ENTRA_USER'])?.value,
      ),
    };
  }
  return configuration;
}

function optional<Key extends string, Value>(key: Key, value: Value | undefined): { [K in Key]?: Value } {
  return (value === undefined ? {} : { [key]: value }) as { [K in Key]?: Value };
}

const identityVariables = [
  ['AZURE_CLIENT_ID', 'clientId'],
  ['Managed_Identity_Client_ID', 'clientId'],
  ['KEYLESS_MANAGED_IDENTITY_RESOURCE_ID', 'resourceId'],
  ['KEYLESS_MANAGED_IDENTITY_OBJECT_ID', 'objectId'],
] as const;

/** The identity as core would pick it, and where it came from (core itself validates it). */
function resolveIdentity(file: DoctorOptionsFile, environment: Environment): DoctorConfiguration['identity'] {
  const given = file.tokenProvider?.identity;
  if (given !== undefined) return { value: given, from: 'tokenProvider.identity', fromFile: true };
  for (const [variable, by] of identityVariables) {
    const value = environment[variable]?.trim();
    if (value) return { value: { [by]: value } as IdentityOption, from: variable, fromFile: false };
  }
  return {
    value: 'system-assigned',
    from: 'default (no AZURE_CLIENT_ID or KEYLESS_MANAGED_IDENTITY_* set)',
    fromFile: false,
  };
}
