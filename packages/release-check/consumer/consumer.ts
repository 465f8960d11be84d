/**
 * A user of every public export of the published packages, written as an application and its
 * tests would use them. The release check copies it into a fresh project where only the packed
 * tarballs are installed, type-checks it there (strict, module nodenext), and fails naming any
 * public export this file does not use: a new export needs a use here before it ships.
 *
 * It is compiled, not run (the smoke script runs the stack); nothing here starts at import.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import {
  type BlobClientOptions,
  type BlobConnector,
  type BlobConnectorOptions,
  createBlobConnector,
} from '@keyless/blob';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ClosedError,
  ConfigurationError,
  CredentialUnavailableError,
  createTokenProvider,
  type Environment,
  InvalidTokenResponseError,
  isKeylessError,
  type KeylessAccessToken,
  KeylessError,
  type KeylessErrorCode,
  type KeylessErrorOptions,
  type ManagedIdentitySelector,
  REDACTED,
  ServiceUnavailableError,
  ThrottledError,
  type TokenAcquiredEvent,
  type TokenBackendName,
  type TokenEventBase,
  type TokenProvider,
  type TokenProviderEventName,
  type TokenProviderEvents,
  type TokenProviderListener,
  type TokenProviderOptions,
  type TokenRefreshFailedEvent,
  type TokenThrottledEvent,
  tokenBackendNames,
} from '@keyless/core';
import {
  BackgroundAttempt,
  type BackoffOptions,
  backoffDelay,
  type Clock,
  delayAfterFailure,
  describeIdentity,
  isLoopbackHost,
  isNetworkFailure,
  isNetworkFailureCode,
  type MissingSettingDescription,
  networkFailureCodes,
  parseRetryAfter,
  portSchema,
  type ResolvedSetting,
  redactKnownSecrets,
  redactText,
  refreshJitterFraction,
  registerSecretForRedaction,
  requireSetting,
  resolveServiceUrl,
  resolveSetting,
  type ServiceUrlSetting,
  type SettingSource,
  spreadEarlier,
  systemClock,
  type TimerHandle,
} from '@keyless/core/internal';
import {
  createTokenProviderWithInternals,
  type FetchedToken,
  ManualClock,
  settle,
  type TokenBackend,
  type TokenProviderInternals,
  type TokenRequest,
} from '@keyless/core/testing';
import {
  createKeyVaultConnector,
  type KeyVaultConnector,
  type KeyVaultConnectorInternals,
  type KeyVaultConnectorOptions,
  type SecretChangeEvent,
  type SecretGetter,
  type SecretRefreshFailedEvent,
  type SecretSource,
  type SecretSourceOptions,
} from '@keyless/keyvault';
import {
  type AzuriteInstance,
  type AzuriteOptions,
  ensureLocalCertificateAuthority,
  findFreePort,
  type IdentityCounters,
  type IdentityEndpoint,
  type IdentityEndpointOptions,
  type IdentityFaults,
  type IdentityProtocol,
  type IssuedTokenEvent,
  type KeyVaultCounters,
  type KeyVaultEmulator,
  type KeyVaultEmulatorOptions,
  type KeyVaultFailureOptions,
  type KeyVaultFaults,
  type KeyVaultOperation,
  type KeyVaultRole,
  type KeyVaultRoleAssignment,
  type LocalAzure,
  type LocalAzureOptions,
  type LocalCertificateAuthority,
  type LocalServiceName,
  localServiceNames,
  type ManagedIdentityDefinition,
  MissingBinaryError,
  type PostgresEntraRole,
  type PostgresInstance,
  type PostgresLauncherOptions,
  type PostgresPasswordUser,
  type RedisInstance,
  type RedisLauncherOptions,
  type RedisPasswordUser,
  renderDotEnv,
  renderExportLines,
  type SeedSecretOptions,
  ServerStartError,
  type SqlEndpoint,
  type SqlEndpointCounters,
  type SqlEndpointOptions,
  type SqlPrincipal,
  type StackProgressEvent,
  type StackProgressListener,
  type SystemAssignedIdentityDefinition,
  startAzurite,
  startIdentityEndpoint,
  startKeyVaultEmulator,
  startLocalAzure,
  startPostgres,
  startRedis,
  startSqlEndpoint,
  type ThrottleOptions,
  type TokenIssuedListener,
  type TokenVerificationCheck,
  TokenVerificationError,
  type TokenVerifier,
  trustBundleFor,
  UnreadableExtraCertificatesError,
  type VerifiedTokenClaims,
  type VerifyTokenExpectations,
} from '@keyless/local-azure';
import {
  type ConnectRetryEvent,
  createPostgresConnector,
  entraToken,
  fromKeyVaultSecret,
  type IdleConnectionErrorEvent,
  type KeyVaultSecretOptions,
  type PasswordRefusedEvent,
  type PostgresConnector,
  type PostgresConnectorEvents,
  type PostgresConnectorOptions,
  type PostgresPasswordMode,
  type PostgresPasswordSource,
  type PostgresPoolOptions,
} from '@keyless/postgres';
import {
  createRedisConnector,
  type EntraTokenAuth,
  type FromKeyVaultSecretOptions,
  type KeyVaultSecretAuth,
  type PassedRedisOptions,
  type RedisAuth,
  type RedisConnector,
  type RedisConnectorEvent,
  type RedisConnectorEventName,
  type RedisConnectorOptions,
  type RefusedRedisOption,
  entraToken as redisEntraToken,
  fromKeyVaultSecret as redisPasswordFromKeyVault,
} from '@keyless/redis';
import {
  createSqlConnector,
  type SqlConnector,
  type SqlConnectorInternals,
  type SqlConnectorOptions,
  type SqlDataType,
  type SqlParameter,
  type SqlPoolOptions,
  type SqlPoolState,
  type SqlTransaction,
  type SqlTypeName,
  type SqlValue,
  type TypedSqlParameter,
} from '@keyless/sql';
import { TYPES } from 'tedious';

// ---------------------------------------------------------------------------------------------
// @keyless/core: one provider, its configuration, events, errors and helpers
// ---------------------------------------------------------------------------------------------

/** The provider an application builds once, from options or else the environment. */
export function createApplicationProvider(environment: Environment): TokenProvider {
  const backend: TokenBackendName = environment.KEYLESS_TOKEN_PROVIDER === 'msal' ? 'msal' : 'azure-identity';
  const options: TokenProviderOptions = {
    backend,
    identity: environment.AZURE_CLIENT_ID ? { clientId: environment.AZURE_CLIENT_ID } : 'system-assigned',
    refreshBeforeExpiryMs: 5 * 60_000,
    environment,
  };
  return createTokenProvider(options);
}

/** Every backend the configuration accepts, e.g. for a settings page. */
export function availableBackends(): readonly TokenBackendName[] {
  return tokenBackendNames;
}

/** A backend for unit tests: one fixed token per scope, on a clock the test moves. */
class FixedTokenBackend implements TokenBackend {
  readonly name: TokenBackendName = 'azure-identity';
  readonly identity: ManagedIdentitySelector = {
    kind: 'user-assigned',
    by: 'client-id',
    value: 'test-client',
  };
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async fetchToken(request: TokenRequest): Promise<FetchedToken> {
    return { token: `test-token:${request.scope}`, expiresOnTimestamp: this.#clock.now() + 3_600_000 };
  }
}

/** Watches a provider's events; none of them carries the token. */
export function watchProvider(provider: TokenProvider, log: (line: string) => void): () => void {
  const describe = (event: TokenEventBase): string => `${event.backend} ${event.identity} ${event.scope}`;
  const onAcquired: TokenProviderListener<'acquired'> = (event: TokenAcquiredEvent) =>
    log(`acquired ${describe(event)} in ${event.latencyMs} ms`);
  const onRefreshFailed = (event: TokenRefreshFailedEvent) =>
    log(
      `refresh failed ${describe(event)}: ${event.error.code}, serving until ${event.servingUntilTimestamp}`,
    );
  const onThrottled = (event: TokenThrottledEvent) =>
    log(`throttled ${describe(event)} for ${event.retryAfterMs} ms`);
  const stops = [
    provider.on('acquired', onAcquired),
    provider.on('refreshed', onAcquired),
    provider.on('refresh-failed', onRefreshFailed),
    provider.on('throttled', onThrottled),
  ];
  provider.off('throttled', onThrottled);
  return () => {
    for (const stop of stops) stop();
  };
}

/** The latest event of each kind, typed by the event map. */
export type LatestTokenEvents = { [Name in TokenProviderEventName]?: TokenProviderEvents[Name] };

/** A unit test of code that uses a provider: a fake backend and a manual clock, hours in milliseconds. */
export async function simulateTwoHours(): Promise<KeylessAccessToken> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const internals: TokenProviderInternals = {
    clock,
    backend: new FixedTokenBackend(clock),
    random: () => 0.5,
    baseRetryDelayMs: 10,
  };
  const provider = createTokenProviderWithInternals({}, internals);
  try {
    const first = await provider.getToken('https://vault.azure.net/.default');
    await clock.advance(2 * 3_600_000);
    clock.jump(1_000);
    await settle();
    if (clock.pendingTimers > 100) throw new Error('timers pile up');
    if (first.refreshAfterTimestamp > first.expiresOnTimestamp) throw new Error('refresh after expiry');
    return first;
  } finally {
    await provider.close();
  }
}

/** Timers on the system clock never keep the process alive. */
export function scheduleOnSystemClock(callback: () => void): () => void {
  const handle: TimerHandle = systemClock.setTimer(callback, systemClock.now() % 1_000);
  return () => systemClock.clearTimer(handle);
}

const applicationBackoff: BackoffOptions = { baseDelayMs: 100, maxDelayMs: 30_000 };

/**
 * An application's own cached value refreshed in the background the keyless way: one pending
 * attempt, spread up to a tenth early, retried after a failure as Retry-After or backoff says.
 */
export function refreshInBackground(
  intervalMs: number,
  refresh: () => Promise<void>,
): { stop(): void; failed(error: unknown, attempt: number): void } {
  const random = Math.random;
  const attempt: BackgroundAttempt = new BackgroundAttempt(systemClock, () => {
    void refresh().then(() => attempt.schedule(systemClock.now() + spreadEarlier(intervalMs, random)));
  });
  attempt.schedule(systemClock.now() + spreadEarlier(intervalMs, random, refreshJitterFraction));
  return {
    stop: () => attempt.cancel(),
    failed: (error, attemptNumber) =>
      attempt.schedule(systemClock.now() + delayAfterFailure(error, attemptNumber, applicationBackoff)),
  };
}

/** Every error keyless throws, for a test of an application's error page. */
export function sampleErrors(): KeylessError[] {
  const options: KeylessErrorOptions = { hint: 'grant the role', status: 403, retryable: false };
  const code: KeylessErrorCode = 'authorization';
  return [
    new KeylessError(code, 'generic', options),
    new ConfigurationError('missing setting'),
    new CredentialUnavailableError('no managed identity here'),
    new AuthenticationFailedError('refused', { status: 401 }),
    new AuthorizationError('forbidden', options),
    new ThrottledError('slow down', { retryAfterMs: 1_000, retryable: true }),
    new ServiceUnavailableError('down', { cause: new Error('ECONNREFUSED') }),
    new InvalidTokenResponseError('not a token'),
    new ClosedError('connector'),
  ];
}

/** What an application's error handler does with whatever was thrown. */
export function explainFailure(error: unknown): string {
  if (!isKeylessError(error)) return isNetworkFailure(error) ? 'network failure' : 'unexpected error';
  if (error instanceof ThrottledError) return `throttled, retry in ${error.retryAfterMs ?? 0} ms`;
  return `${error.code}${error.hint ? ` (${error.hint})` : ''}`;
}

/** Classifies a socket error code the way every connector does. */
export function isTransientSocketCode(code: string): boolean {
  return networkFailureCodes.has(code) || isNetworkFailureCode(code);
}

/** Log hygiene: a known secret and anything token-shaped never reach the log. */
export function safeLogLine(line: string, knownSecret: string): string {
  registerSecretForRedaction(knownSecret);
  const scrubbed = redactKnownSecrets(redactText(line));
  return scrubbed.includes(REDACTED) ? `${scrubbed} (redacted)` : scrubbed;
}

/** An application's own retry loop with the same backoff and Retry-After rules as keyless. */
export function nextRetryDelay(attempt: number, retryAfterHeader: string | null): number {
  return parseRetryAfter(retryAfterHeader, Date.now()) ?? backoffDelay(attempt, applicationBackoff);
}

/** An application setting read the keyless way: option first, then environment, errors naming both. */
export function readServicePort(option: number | undefined, environment: Environment): number {
  const source: SettingSource = {
    option: 'port',
    value: option,
    variables: ['MY_SERVICE_PORT'],
    environment,
  };
  const optional: ResolvedSetting<number> = resolveSetting(portSchema, source);
  if (optional.value !== undefined) return optional.value;
  const missing: MissingSettingDescription = { what: 'service port', detail: '.' };
  return requireSetting(portSchema, source, missing);
}

/** A service URL with the keyless rules: https (http only on loopback), no SAS, no credentials. */
export function readServiceUrl(value: string | undefined, environment: Environment): string {
  const setting: ServiceUrlSetting = {
    service: 'My service',
    example: 'https://my-service.example.com',
    option: 'serviceUrl',
    variable: 'MY_SERVICE_URL',
    value,
    environment,
    allowLoopbackHttp: true,
  };
  const url = resolveServiceUrl(setting);
  return isLoopbackHost(new URL(url).hostname) ? `${url} (local)` : url;
}

/** Printable identity for a startup log line (ids are not secrets). */
export function identityLine(provider: TokenProvider): string {
  const selector: ManagedIdentitySelector = provider.identity;
  return `${provider.backend}: ${describeIdentity(selector)} (${provider.identityDescription})`;
}

// ---------------------------------------------------------------------------------------------
// The connectors, all fed by one provider
// ---------------------------------------------------------------------------------------------

export interface Connectors {
  blob: BlobConnector;
  keyVault: KeyVaultConnector;
  sql: SqlConnector;
  postgres: PostgresConnector;
  redis: RedisConnector;
}

export async function createConnectors(tokenProvider: TokenProvider): Promise<Connectors> {
  const blobClientOptions: BlobClientOptions = { retryOptions: { maxTries: 2 } };
  const blobOptions: BlobConnectorOptions = { tokenProvider, clientOptions: blobClientOptions };
  const blob = createBlobConnector(blobOptions);

  const keyVaultOptions: KeyVaultConnectorOptions = { tokenProvider };
  // A test double of the vault's GET (the hook the fleet simulation uses); unused by default.
  const simulatedGet: SecretGetter | undefined = undefined;
  const keyVaultInternals: KeyVaultConnectorInternals = {
    clock: systemClock,
    baseRetryDelayMs: 1_000,
    ...(simulatedGet === undefined ? {} : { getSecret: simulatedGet }),
  };
  const keyVault = createKeyVaultConnector(keyVaultOptions, keyVaultInternals);

  const pool: SqlPoolOptions = { max: 4, maxLifetimeMs: 30 * 60_000 };
  const sqlOptions: SqlConnectorOptions = { tokenProvider, encrypt: 'strict', pool };
  const sqlInternals: SqlConnectorInternals = {
    onConnection: (connection) => connection.on('debug', () => {}),
  };
  const sql = createSqlConnector(sqlOptions, sqlInternals);

  const secretOptions: KeyVaultSecretOptions = { connector: keyVault, secretName: 'postgres-password' };
  const postgresPool: PostgresPoolOptions = { max: 4, idleTimeoutMillis: 30_000 };
  const postgresOptions: PostgresConnectorOptions = {
    password: fromKeyVaultSecret(secretOptions),
    tokenProvider,
    pool: postgresPool,
    connectRetryMs: 10_000,
  };
  const postgres = createPostgresConnector(postgresOptions);

  const redisSecret: FromKeyVaultSecretOptions = { connector: keyVault, secretName: 'redis-password' };
  const passedToIoredis: PassedRedisOptions = { lazyConnect: true, connectionName: 'orders' };
  // keyless decides where and as whom; those keys are refused in redisOptions.
  const decidedByKeyless: RefusedRedisOption[] = ['host', 'port', 'tls', 'username', 'password'];
  if (decidedByKeyless.some((key) => key in passedToIoredis)) throw new Error('unreachable');
  const redisOptions: RedisConnectorOptions = {
    auth: redisPasswordFromKeyVault(redisSecret),
    tokenProvider,
    redisOptions: passedToIoredis,
  };
  const redis = await createRedisConnector(redisOptions);
  return { blob, keyVault, sql, postgres, redis };
}

/** The Entra-token variants: no secret at all, the identity logs in with a token. */
export function entraPasswordSources(objectId: string): {
  postgres: PostgresPasswordSource;
  redis: RedisAuth;
} {
  return { postgres: entraToken(), redis: redisEntraToken({ objectId }) };
}

export function describeRedisAuth(auth: RedisAuth): string {
  if (auth.kind === 'entra-token') {
    const entra: EntraTokenAuth = auth;
    return `entra ${entra.objectId} for ${entra.scope}`;
  }
  const secret: KeyVaultSecretAuth = auth;
  return `secret ${secret.secretName} as ${secret.username ?? 'default'}`;
}

export function describePasswordSource(source: PostgresPasswordSource): PostgresPasswordMode {
  return source.mode;
}

export async function useBlob(blob: BlobConnector): Promise<number> {
  const container = blob.container('reports');
  const service: BlobServiceClient = blob.client;
  const names: string[] = [];
  for await (const item of container.listBlobsFlat()) names.push(item.name);
  const accountInfo = await blob.run((client) => client.getAccountInfo());
  return names.length + (accountInfo.skuName ? 1 : 0) + (service.url ? 0 : 1);
}

export function watchSecret(keyVault: KeyVaultConnector, log: (line: string) => void): SecretSource {
  const options: SecretSourceOptions = { refreshIntervalMs: 60_000 };
  const source = keyVault.secret('demo-message', options);
  source.on('change', (event: SecretChangeEvent) => log(`${event.name} is now ${event.version}`));
  source.on('refresh-failed', (event: SecretRefreshFailedEvent) =>
    log(`${event.name} refresh failed (${event.error.code}); serving last good: ${event.servingLastGood}`),
  );
  return source;
}

export async function useSql(sql: SqlConnector): Promise<SqlPoolState> {
  const typeName: SqlTypeName = 'NVarChar';
  const dataType: SqlDataType = TYPES.Int;
  const body: TypedSqlParameter = { type: typeName, value: 'hello', options: { length: 100 } };
  const id: SqlValue = 1;
  const parameters: Record<string, SqlParameter> = { body, id: { type: dataType, value: id } };
  await sql.query<{ login: string }>('SELECT SUSER_SNAME() AS login');
  await sql.transaction(async (transaction: SqlTransaction) => {
    await transaction.query('INSERT INTO dbo.notes (body) VALUES (@body)', parameters);
  });
  return sql.pool;
}

export function watchPostgres(postgres: PostgresConnector, log: (line: string) => void): void {
  const onRefused = (event: PasswordRefusedEvent) =>
    log(`${event.user} refused (${event.sqlState}), retry: ${event.willRetry}`);
  const onIdleError = (event: IdleConnectionErrorEvent) =>
    log(`idle connection ended: ${String(event.error)}`);
  const onConnectRetry = (event: ConnectRetryEvent) =>
    log(`server restarting: connect attempt ${event.attempt} again in ${event.delayMs} ms`);
  postgres.on('password-refused', onRefused);
  postgres.on('idle-connection-error', onIdleError);
  postgres.on('connect-retry', onConnectRetry);
}

export type PostgresEventPayloads = PostgresConnectorEvents[keyof PostgresConnectorEvents];

export function watchRedis(redis: RedisConnector, log: (line: string) => void): void {
  const names: RedisConnectorEventName[] = ['password-refreshed', 'reauthenticated'];
  for (const name of names) {
    redis.on(name, (event: RedisConnectorEvent) => log(`${name} at ${event.at} (${event.connections ?? 0})`));
  }
}

// ---------------------------------------------------------------------------------------------
// @keyless/local-azure: the whole stack for an application, or each emulator for a test
// ---------------------------------------------------------------------------------------------

export async function startStackForTests(onLine: (line: string) => void): Promise<LocalAzure> {
  const services: LocalServiceName[] = localServiceNames.filter((name) => name !== 'redis');
  const onProgress: StackProgressListener = (event: StackProgressEvent) =>
    onLine(`${event.service} ${event.phase}`);
  const options: LocalAzureOptions = { services, seed: true, tokenLifetimeSeconds: 3_600, onProgress };
  const stack = await startLocalAzure(options);
  onLine(renderExportLines(stack.env));
  onLine(renderDotEnv(stack.env));
  const authority: LocalCertificateAuthority = stack.ca;
  onLine(`trust ${authority.caCertificatePath}`);
  // The local CA joins what NODE_EXTRA_CA_CERTS already trusts; an unreadable file is refused.
  try {
    onLine(`NODE_EXTRA_CA_CERTS=${await trustBundleFor(authority, process.env)}`);
  } catch (error) {
    if (error instanceof UnreadableExtraCertificatesError) onLine(`fix ${error.path} first`);
    else throw error;
  }
  return stack;
}

export async function startEachEmulator(stateFolder: string): Promise<() => Promise<void>> {
  const authority = await ensureLocalCertificateAuthority(stateFolder);
  const app: ManagedIdentityDefinition = {
    name: 'orders-app',
    clientId: '00000000-0000-0000-0000-000000000001',
    objectId: '00000000-0000-0000-0000-000000000002',
  };
  const systemAssigned: SystemAssignedIdentityDefinition = {
    name: 'host',
    clientId: '00000000-0000-0000-0000-000000000003',
    objectId: '00000000-0000-0000-0000-000000000004',
  };
  const identityOptions: IdentityEndpointOptions = {
    userAssigned: [app],
    systemAssigned,
    tokenLifetimeSeconds: 600,
  };
  const identity: IdentityEndpoint = await startIdentityEndpoint(identityOptions);
  const protocol: IdentityProtocol = 'imds';
  const onIssued: TokenIssuedListener = (event: IssuedTokenEvent) => {
    if (event.protocol !== protocol && event.resource.length === 0) throw new Error('no resource');
  };
  const stopListening = identity.onTokenIssued(onIssued);

  const throttle: ThrottleOptions = { count: 1, retryAfterSeconds: 2 };
  const faults: IdentityFaults = identity.faults;
  faults.throttle(throttle);
  faults.clear();
  const counters: IdentityCounters = identity.counters;
  const expectations: VerifyTokenExpectations = { audience: 'https://vault.azure.net' };
  const verify = async (token: string): Promise<VerifiedTokenClaims | TokenVerificationCheck> => {
    try {
      return await identity.verifyToken(token, expectations);
    } catch (error) {
      if (error instanceof TokenVerificationError) return error.check;
      throw error;
    }
  };
  await verify(identity.issuedTokens()[0] ?? 'not-a-token');

  const role: KeyVaultRole = 'Key Vault Secrets User';
  const roleAssignments: KeyVaultRoleAssignment[] = [{ principalId: app.objectId, role }];
  const keyVaultOptions: KeyVaultEmulatorOptions = {
    identity,
    tls: { cert: authority.serverCertificate, key: authority.serverKey },
    roleAssignments,
  };
  const keyVault: KeyVaultEmulator = await startKeyVaultEmulator(keyVaultOptions);
  const seed: SeedSecretOptions = { contentType: 'text/plain' };
  keyVault.setSecret('orders-db-password', 'seeded-in-a-test', seed);
  const failure: KeyVaultFailureOptions = { count: 1, retryAfterSeconds: 1 };
  const keyVaultFaults: KeyVaultFaults = keyVault.faults;
  keyVaultFaults.failWith(429, failure);
  const operation: KeyVaultOperation = 'getSecret';
  const keyVaultCounters: KeyVaultCounters = keyVault.counters;

  const azuriteOptions: AzuriteOptions = {
    tls: { certPath: authority.serverCertificatePath, keyPath: authority.serverKeyPath },
    port: await findFreePort(),
  };
  const azurite: AzuriteInstance = await startAzurite(azuriteOptions);

  const tokenVerifier: TokenVerifier = identity;
  const principal: SqlPrincipal = { name: app.name, objectId: app.objectId };
  const sqlOptions: SqlEndpointOptions = {
    tokenVerifier,
    tls: { cert: authority.serverCertificate, key: authority.serverKey },
    principals: [principal],
  };
  const sql: SqlEndpoint = await startSqlEndpoint(sqlOptions);
  const sqlCounters: SqlEndpointCounters = sql.counters;

  const postgresUser: PostgresPasswordUser = { name: 'orders', password: 'from-key-vault' };
  const entraRole: PostgresEntraRole = { roleName: app.name, objectId: app.objectId };
  const postgresOptions: PostgresLauncherOptions = {
    users: [postgresUser],
    identity,
    entraRoles: [entraRole],
  };
  const redisUser: RedisPasswordUser = { name: 'cache', password: 'from-key-vault' };
  const redisOptions: RedisLauncherOptions = {
    users: [redisUser],
    identity,
    entraUsers: [{ objectId: app.objectId }],
  };
  let postgres: PostgresInstance | undefined;
  let redis: RedisInstance | undefined;
  try {
    postgres = await startPostgres(postgresOptions);
    redis = await startRedis(redisOptions);
  } catch (error) {
    if (error instanceof MissingBinaryError) throw new Error(`install ${error.debianPackage}`);
    if (error instanceof ServerStartError) throw new Error(`server did not start: ${error.message}`);
    throw error;
  }

  return async () => {
    const requests = counters.tokenRequests + keyVaultCounters.byOperation(operation) + sqlCounters.logins;
    if (requests < 0) throw new Error('counters never go negative');
    stopListening();
    await Promise.all([redis?.stop(), postgres?.stop(), sql.stop(), azurite.stop(), keyVault.stop()]);
    await identity.stop();
  };
}
