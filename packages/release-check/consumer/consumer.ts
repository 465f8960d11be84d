/**
 * A user of every root export of the published packages, written as an application and its tests
 * would use them. The release check copies it into a fresh project where only the packed tarballs
 * are installed, type-checks it there (strict, module nodenext), and fails naming any root export
 * this file does not use: a new export needs a use here before it ships.
 *
 * Root exports only: `@keyless/<package>/internal` (helpers keyless's own packages share) and
 * `/testing` (test seams) are not for applications and not covered by semver, so an application —
 * and this file — never imports them; the release check refuses an import from either.
 *
 * It is compiled, not run (the smoke script runs the stack); nothing here starts at import.
 */
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import {
  type BlobConnectOptions,
  type BlobConnector,
  type BlobConnectorOptions,
  type BlobPipelineOptions,
  createBlobConnector,
} from '@keyless/blob';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ClosedError,
  ConfigurationError,
  CredentialUnavailableError,
  createTokenProvider,
  type EntraTokenPassword,
  type EntraTokenPasswordOptions,
  type Environment,
  entraToken,
  findKeylessError,
  fromKeyVaultSecret,
  InvalidTokenResponseError,
  isKeylessError,
  type KeylessAccessToken,
  KeylessError,
  type KeylessErrorCode,
  type KeylessErrorOptions,
  type KeyVaultSecretPassword,
  type KeyVaultSecretPasswordOptions,
  type ManagedIdentitySelector,
  type PasswordSource,
  REDACTED,
  type SecretReader,
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
  type ClockReport,
  type DoctorFailure,
  type DoctorOptions,
  type DoctorOptionsFile,
  type DoctorReport,
  type DoctorResourceKind,
  type DoctorStatus,
  type HostKind,
  type HostReport,
  type IdentityOption,
  type IdentityReport,
  type PasswordServiceOptions,
  type ProbeReport,
  type ResourceReport,
  renderDoctorReport,
  runDoctor,
  type TokenClaimsReport,
  type TokenReport,
} from '@keyless/doctor';
import {
  createKeyVaultConnector,
  type KeyVaultConnectOptions,
  type KeyVaultConnector,
  type KeyVaultConnectorOptions,
  type SecretChangeEvent,
  type SecretRefreshFailedEvent,
  type SecretSource,
  type SecretSourceOptions,
} from '@keyless/keyvault';
import {
  type AddRedisClusterNodeOptions,
  type AzuriteInstance,
  type AzuriteOptions,
  type BlobDataRole,
  type BlobEmulator,
  type BlobEmulatorOptions,
  type BlobRoleAssignment,
  type ExistingSessionsDuringReconfiguration,
  ensureLocalCertificateAuthority,
  type FederatedIdentityCredential,
  findFreePort,
  type IdentityCounters,
  type IdentityEndpoint,
  type IdentityEndpointOptions,
  type IdentityFaults,
  type IdentityProtocol,
  type IssuedTokenEvent,
  type KeyVaultAccessPolicy,
  type KeyVaultAccessPolicyPermissions,
  type KeyVaultCounters,
  type KeyVaultEmulator,
  type KeyVaultEmulatorOptions,
  type KeyVaultFailureOptions,
  type KeyVaultFaults,
  type KeyVaultOperation,
  type KeyVaultPermissionModel,
  type KeyVaultRole,
  type KeyVaultRoleAssignment,
  type KeyVaultSecretPermission,
  type LocalAzure,
  type LocalAzureHost,
  type LocalAzureOptions,
  type LocalCertificateAuthority,
  type LocalServiceName,
  localAzureHosts,
  localServiceNames,
  type ManagedIdentityDefinition,
  MissingBinaryError,
  MissingPackageError,
  type PostgresEntraRole,
  type PostgresInstance,
  type PostgresLauncherOptions,
  type PostgresPasswordUser,
  type PostgresRestartOptions,
  type ReconfigureOptions,
  type RedisAccessPolicyName,
  type RedisClusterInstance,
  type RedisClusterNode,
  type RedisClusterNodeState,
  type RedisClusterOptions,
  type RedisCounters,
  type RedisEntraUser,
  type RedisInstance,
  type RedisLauncherOptions,
  type RedisPasswordUser,
  renderDotEnv,
  renderExportLines,
  type SeedSecretOptions,
  ServerStartError,
  type ServiceAccountTokenOptions,
  type SqlConnectionPolicy,
  type SqlEndpoint,
  type SqlEndpointCounters,
  type SqlEndpointFaults,
  type SqlEndpointOptions,
  type SqlPrincipal,
  type StackProgressEvent,
  type StackProgressListener,
  type SystemAssignedIdentityDefinition,
  startAzurite,
  startBlobEmulator,
  startIdentityEndpoint,
  startKeyVaultEmulator,
  startLocalAzure,
  startPostgres,
  startRedis,
  startRedisCluster,
  startSqlEndpoint,
  type ThrottleOptions,
  type TokenIssuedListener,
  type TokenRecheckErrorNumber,
  type TokenRecheckOptions,
  type TokenVerificationCheck,
  TokenVerificationError,
  type TokenVerifier,
  type TransientLoginErrorNumber,
  trustBundleFor,
  UnreadableExtraCertificatesError,
  type VerifiedTokenClaims,
  type VerifyTokenExpectations,
  type WorkloadIdentityEmulation,
  type WorkloadIdentityOptions,
} from '@keyless/local-azure';
import {
  type ConnectRetryEvent,
  createPostgresConnector,
  type IdleConnectionErrorEvent,
  type PasswordRefusedEvent,
  type PostgresConnector,
  type PostgresConnectorEvents,
  type PostgresConnectorOptions,
  type PostgresPoolOptions,
} from '@keyless/postgres';
import {
  createNodeRedisClusterConnector,
  createNodeRedisConnector,
  createRedisClusterConnector,
  createRedisConnector,
  type NodeRedisClient,
  type NodeRedisCluster,
  type NodeRedisClusterConnector,
  type NodeRedisClusterConnectorOptions,
  type NodeRedisConnector,
  type NodeRedisConnectorOptions,
  type NodeRedisNodeAddress,
  type NodeRedisNodeAddressMap,
  type PassedClusterOptions,
  type PassedNodeRedisClusterOptions,
  type PassedNodeRedisOptions,
  type PassedNodeRedisSocketOptions,
  type PassedRedisOptions,
  type RedisClusterConnector,
  type RedisClusterConnectorOptions,
  type RedisConnector,
  type RedisConnectorEvent,
  type RedisConnectorEventName,
  type RedisConnectorOptions,
  type RefusedNodeRedisClusterOption,
  type RefusedNodeRedisOption,
  type RefusedRedisOption,
} from '@keyless/redis';
import {
  createSqlConnector,
  type SqlConnector,
  type SqlConnectorOptions,
  type SqlDataType,
  type SqlLoginRetryOptions,
  type SqlParameter,
  type SqlPoolOptions,
  type SqlPoolStatus,
  type SqlTransaction,
  type SqlTypeName,
  type SqlValue,
  type TypedSqlParameter,
} from '@keyless/sql';
import { TYPES } from 'tedious';

// ---------------------------------------------------------------------------------------------
// @keyless/core: one provider, its configuration, events and errors
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

/** Printable identity for a start-up log line (ids are not secrets). */
export function identityLine(provider: TokenProvider): string {
  const selector: ManagedIdentitySelector = provider.identity;
  const kind = selector.kind === 'user-assigned' ? `user-assigned by ${selector.by}` : 'system-assigned';
  return `${provider.backend}: ${kind} (${provider.identityDescription})`;
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

/** A token for a client the application builds itself; it prints as REDACTED, never as itself. */
export async function tokenForOwnClient(provider: TokenProvider, scope: string): Promise<KeylessAccessToken> {
  const token = await provider.getToken(scope);
  if (!JSON.stringify(token).includes(REDACTED)) throw new Error('a token printed as itself');
  if (token.refreshAfterTimestamp > token.expiresOnTimestamp) throw new Error('refresh after expiry');
  return token;
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

/**
 * What an application's error handler does with whatever was thrown: a keyless error may arrive
 * as itself, or wrapped by a driver or SDK (a cause chain, an AggregateError).
 */
export function explainFailure(error: unknown): string {
  const keyless = isKeylessError(error) ? error : findKeylessError(error);
  if (keyless === undefined) return 'unexpected error';
  if (keyless instanceof ThrottledError) return `throttled, retry in ${keyless.retryAfterMs ?? 0} ms`;
  const retry = keyless.retryable ? ', worth retrying' : '';
  return `${keyless.code}${retry}${keyless.hint ? ` (${keyless.hint})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Password sources (@keyless/core), for every connector that logs in with a password
// ---------------------------------------------------------------------------------------------

/** The password is a Key Vault secret, read through the application's own Key Vault connector. */
export function passwordFromVault(keyVault: KeyVaultConnector, secretName: string): KeyVaultSecretPassword {
  // A Key Vault connector is what a password source reads secrets with.
  const reader: SecretReader = keyVault;
  const options: KeyVaultSecretPasswordOptions = { connector: reader, secretName, refreshIntervalMs: 60_000 };
  return fromKeyVaultSecret(options);
}

/** No secret at all: the identity logs in with an Entra token for the service. */
export function passwordFromEntra(scope?: string): EntraTokenPassword {
  const options: EntraTokenPasswordOptions = scope === undefined ? {} : { scope };
  return entraToken(options);
}

/** For a start-up log line: where a connector's password comes from (names only, never a value). */
export function describePasswordSource(source: PasswordSource): string {
  switch (source.kind) {
    case 'key-vault-secret':
      return `Key Vault secret ${source.secretName ?? '(from the environment)'}`;
    case 'entra-token':
      return `Entra token for ${source.scope ?? "the service's scope"}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The connectors, all fed by one provider: created at once, connected for a fail-fast start-up
// ---------------------------------------------------------------------------------------------

export interface Connectors {
  blob: BlobConnector;
  keyVault: KeyVaultConnector;
  sql: SqlConnector;
  postgres: PostgresConnector;
  redis: RedisConnector;
}

/** Synchronous: no factory does I/O, so bad configuration throws here and nothing is fetched yet. */
export function createConnectors(tokenProvider: TokenProvider, redisObjectId?: string): Connectors {
  const blobPipeline: BlobPipelineOptions = { retryOptions: { maxTries: 2 } };
  const blobOptions: BlobConnectorOptions = { tokenProvider, clientOptions: blobPipeline };
  const blob = createBlobConnector(blobOptions);

  const keyVaultOptions: KeyVaultConnectorOptions = { tokenProvider, requestTimeoutMs: 10_000 };
  const keyVault = createKeyVaultConnector(keyVaultOptions);

  const pool: SqlPoolOptions = { max: 4, maxLifetimeMs: 30 * 60_000 };
  // Azure SQL reconfigurations last up to 60 s: retry a transient login 5 s later, for up to 60 s.
  const loginRetry: SqlLoginRetryOptions = { firstDelayMs: 5_000, budgetMs: 60_000 };
  const sqlOptions: SqlConnectorOptions = { tokenProvider, encrypt: 'strict', pool, loginRetry };
  const sql = createSqlConnector(sqlOptions);

  const postgresPool: PostgresPoolOptions = { max: 4, idleTimeoutMillis: 30_000 };
  const postgresOptions: PostgresConnectorOptions = {
    password: passwordFromVault(keyVault, 'postgres-password'),
    user: 'orders',
    tokenProvider,
    pool: postgresPool,
    connectRetryMs: 120_000,
  };
  const postgres = createPostgresConnector(postgresOptions);

  const passedToIoredis: PassedRedisOptions = { lazyConnect: true, connectionName: 'orders' };
  // keyless decides where and as whom; those keys are refused in redisOptions.
  const decidedByKeyless: RefusedRedisOption[] = ['host', 'port', 'tls', 'username', 'password'];
  if (decidedByKeyless.some((key) => key in passedToIoredis)) throw new Error('unreachable');
  // With an Entra token the user is the identity's object id (from configuration, never the token).
  const redisOptions: RedisConnectorOptions =
    redisObjectId === undefined
      ? {
          password: passwordFromVault(keyVault, 'redis-password'),
          tokenProvider,
          redisOptions: passedToIoredis,
        }
      : { password: passwordFromEntra(), user: redisObjectId, tokenProvider, redisOptions: passedToIoredis };
  const redis = createRedisConnector(redisOptions);
  return { blob, keyVault, sql, postgres, redis };
}

/**
 * A fail-fast start-up: each connector fetches its token or password and makes one connection or
 * request, so a missing role, secret or server stops the process now with a typed error.
 */
export async function connectAll(connectors: Connectors, log: (line: string) => void): Promise<void> {
  const blobCheck: BlobConnectOptions = { container: 'reports' };
  const vaultCheck: KeyVaultConnectOptions = { secrets: ['demo-message'] };
  const steps: [string, () => Promise<void>][] = [
    ['blob', () => connectors.blob.connect(blobCheck)],
    ['key vault', () => connectors.keyVault.connect(vaultCheck)],
    ['sql', () => connectors.sql.connect()],
    ['postgres', () => connectors.postgres.connect()],
    ['redis', () => connectors.redis.connect()],
  ];
  for (const [name, connect] of steps) {
    try {
      await connect();
      log(`${name} connected`);
    } catch (error) {
      log(`${name} failed: ${explainFailure(error)}`);
      throw error;
    }
  }
}

export async function closeAll(connectors: Connectors, tokenProvider: TokenProvider): Promise<void> {
  // The password sources read through the Key Vault connector: close it after its users.
  const { keyVault, ...users } = connectors;
  await Promise.all(Object.values(users).map((connector) => connector.close()));
  await keyVault.close();
  await tokenProvider.close();
}

export async function useBlob(blob: BlobConnector): Promise<number> {
  const container: ContainerClient = blob.containerClient('reports');
  const service: BlobServiceClient = blob.client;
  const names: string[] = [];
  for await (const item of container.listBlobsFlat()) names.push(item.name);
  const properties = await blob.run((client) => client.getContainerClient('reports').getProperties());
  return names.length + (properties.lastModified ? 1 : 0) + (service.url ? 0 : 1);
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

export async function useSql(sql: SqlConnector): Promise<SqlPoolStatus> {
  const typeName: SqlTypeName = 'NVarChar';
  const dataType: SqlDataType = TYPES.Int;
  const body: TypedSqlParameter = { type: typeName, value: 'hello', options: { length: 100 } };
  const id: SqlValue = 1;
  const parameters: Record<string, SqlParameter> = { body, id: { type: dataType, value: id } };
  await sql.query<{ login: string }>('SELECT SUSER_SNAME() AS login');
  await sql.transaction(async (transaction: SqlTransaction) => {
    await transaction.query('INSERT INTO dbo.notes (body) VALUES (@body)', parameters);
  });
  return sql.poolStatus();
}

export function watchPostgres(postgres: PostgresConnector, log: (line: string) => void): void {
  const onRefused = (event: PasswordRefusedEvent) =>
    log(`${event.user} refused (${event.sqlState}, ${event.mode}), retry: ${event.willRetry}`);
  const onIdleError = (event: IdleConnectionErrorEvent) =>
    log(`idle connection ended: ${explainFailure(event.error)}`);
  const onConnectRetry = (event: ConnectRetryEvent) =>
    log(`server restarting: connect attempt ${event.attempt} again in ${event.delayMs} ms`);
  postgres.on('password-refused', onRefused);
  postgres.on('idle-connection-error', onIdleError);
  postgres.on('connect-retry', onConnectRetry);
}

export type PostgresEventPayloads = PostgresConnectorEvents[keyof PostgresConnectorEvents];

export async function usePostgres(postgres: PostgresConnector): Promise<number> {
  const result = await postgres.query<{ answer: number }>('SELECT 6 * 7 AS answer');
  return (result.rows[0]?.answer ?? 0) + postgres.pool.totalCount;
}

export function watchRedis(redis: RedisConnector, log: (line: string) => void): void {
  const names: RedisConnectorEventName[] = ['password-refreshed', 'reauthenticated'];
  for (const name of names) {
    redis.on(name, (event: RedisConnectorEvent) => log(`${name} at ${event.at} (${event.connections ?? 0})`));
  }
}

export async function useRedis(redis: RedisConnector): Promise<number> {
  const subscriber = redis.duplicate();
  try {
    await subscriber.subscribe('orders');
    return await redis.client.incr('orders:seen');
  } finally {
    subscriber.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// @keyless/local-azure: the whole stack for an application, or each emulator for a test
// ---------------------------------------------------------------------------------------------

export async function startStackForTests(onLine: (line: string) => void): Promise<LocalAzure> {
  const services: LocalServiceName[] = localServiceNames.filter((name) => name !== 'redis');
  const onProgress: StackProgressListener = (event: StackProgressEvent) =>
    onLine(`${event.service} ${event.phase}`);
  // The host kind whose environment the stack writes: App Service (the default), IMDS or AKS.
  const host: LocalAzureHost = localAzureHosts.includes('app-service') ? 'app-service' : 'imds';
  const options: LocalAzureOptions = { host, services, seed: true, tokenLifetimeSeconds: 3_600, onProgress };
  const stack = await startLocalAzure(options);
  // Blob checks data roles: the seed grants the app identity Contributor; a test can narrow it.
  const blob: BlobEmulator | undefined = stack.blob;
  if (blob) {
    const reader: BlobDataRole = 'Storage Blob Data Reader';
    blob.assignRole(stack.appIdentity.objectId, reader, { container: 'reports' });
    const grants: readonly BlobRoleAssignment[] = blob.roleAssignments();
    onLine(`blob grants ${grants.map((grant) => grant.role).join(', ')}`);
    blob.removeRole(stack.appIdentity.objectId, reader, { container: 'reports' });
  }
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
  // A second vault still on access policies, as older vaults are: it answers 403 AccessDenied.
  const readOnly: KeyVaultSecretPermission[] = ['get', 'list'];
  const appPermissions: KeyVaultAccessPolicyPermissions = { secrets: readOnly };
  const accessPolicies: KeyVaultAccessPolicy[] = [{ objectId: app.objectId, secrets: readOnly }];
  const permissionModel: KeyVaultPermissionModel = 'access-policy';
  const legacyVault: KeyVaultEmulator = await startKeyVaultEmulator({
    ...keyVaultOptions,
    permissionModel,
    accessPolicies,
  });
  legacyVault.setAccessPolicy(systemAssigned.objectId, appPermissions);
  legacyVault.removeAccessPolicy(systemAssigned.objectId);
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
  // Azurite is an optional peer: an application that starts Blob without it is told what to install.
  const azurite: AzuriteInstance = await startAzurite(azuriteOptions).catch((error: unknown) => {
    if (error instanceof MissingPackageError) throw new Error(`run ${error.installCommand}`);
    throw error;
  });

  const tokenVerifier: TokenVerifier = identity;
  const principal: SqlPrincipal = { name: app.name, objectId: app.objectId };
  const connectionPolicy: SqlConnectionPolicy = 'redirect';
  const sqlOptions: SqlEndpointOptions = {
    connectionPolicy,
    tokenVerifier,
    tls: { cert: authority.serverCertificate, key: authority.serverKey },
    principals: [principal],
  };
  const sql: SqlEndpoint = await startSqlEndpoint(sqlOptions);
  const sqlCounters: SqlEndpointCounters = sql.counters;
  // Azure's time and topology: a reconfiguration refusing logins, and tokens re-checked mid-session.
  const sqlFaults: SqlEndpointFaults = sql.faults;
  const transientError: TransientLoginErrorNumber = 40613;
  const existingSessions: ExistingSessionsDuringReconfiguration = 'close-when-idle';
  const reconfiguration: ReconfigureOptions = {
    durationMs: 0,
    errorNumber: transientError,
    existingSessions,
  };
  sqlFaults.reconfigure(reconfiguration);
  const recheckError: TokenRecheckErrorNumber = 37396;
  const recheck: TokenRecheckOptions = { errorNumber: recheckError };
  sqlFaults.recheckTokenOnEveryStatement(true, recheck);
  sqlFaults.clear();

  const postgresUser: PostgresPasswordUser = { name: 'orders', password: 'from-key-vault' };
  const entraRole: PostgresEntraRole = { roleName: app.name, objectId: app.objectId };
  const postgresOptions: PostgresLauncherOptions = {
    users: [postgresUser],
    identity,
    entraRoles: [entraRole],
  };
  const redisUser: RedisPasswordUser = { name: 'cache', password: 'from-key-vault' };
  const accessPolicy: RedisAccessPolicyName = 'Data Contributor';
  const redisEntraUser: RedisEntraUser = { objectId: app.objectId, accessPolicy };
  const redisOptions: RedisLauncherOptions = {
    users: [redisUser],
    identity,
    entraUsers: [redisEntraUser],
  };
  let postgres: PostgresInstance | undefined;
  let redis: RedisInstance | undefined;
  try {
    postgres = await startPostgres(postgresOptions);
    redis = await startRedis(redisOptions);
    // A failover: nothing listens for a moment, then the same port again.
    const failover: PostgresRestartOptions = { downtimeMs: 100 };
    await postgres.restart(failover);
  } catch (error) {
    if (error instanceof MissingBinaryError) throw new Error(`install ${error.debianPackage}`);
    if (error instanceof ServerStartError) throw new Error(`server did not start: ${error.message}`);
    throw error;
  }

  return async () => {
    const redisCounters: RedisCounters | undefined = redis?.counters;
    const requests =
      counters.tokenRequests +
      keyVaultCounters.byOperation(operation) +
      sqlCounters.logins +
      (redisCounters?.expiryDrops ?? 0);
    if (requests < 0) throw new Error('counters never go negative');
    stopListening();
    await Promise.all([
      redis?.stop(),
      postgres?.stop(),
      sql.stop(),
      azurite.stop(),
      keyVault.stop(),
      legacyVault.stop(),
    ]);
    await identity.stop();
  };
}

/** AKS workload identity: what a test of a federated-credential mistake uses (not run by the smoke). */
export async function workloadIdentityMistakes(
  workloadIdentity: WorkloadIdentityEmulation,
  clientId: string,
): Promise<string> {
  const wrongSubject: FederatedIdentityCredential = {
    name: 'other-namespace',
    issuer: workloadIdentity.clusterIssuer,
    subject: 'system:serviceaccount:other:keyless-app',
  };
  workloadIdentity.addFederatedCredential(clientId, wrongSubject);
  const tokenOptions: ServiceAccountTokenOptions = { namespace: 'other', lifetimeSeconds: 600 };
  return workloadIdentity.serviceAccountToken(tokenOptions);
}

/** Blob alone, behind its verifying front (not run by the smoke: the stack above starts it). */
export function startBlobAlone(options: BlobEmulatorOptions): Promise<BlobEmulator> {
  return startBlobEmulator(options);
}

/** The AKS emulation's own options, as startIdentityEndpoint({ workloadIdentity }) takes them. */
export function aksOptions(
  tls: { cert: string; key: string },
  tokenFilePath: string,
): WorkloadIdentityOptions {
  return { tls, tokenFilePath, namespace: 'default', serviceAccount: 'keyless-app' };
}

/** The cache client type an application on node-redis v5 holds. */
export type OrdersCache = NodeRedisClient;

/** node-redis v5 instead of ioredis (not run by the smoke): the same password sources, node-redis's own client. */
export function nodeRedisInstead(tokenProvider: TokenProvider, objectId: string): NodeRedisConnector {
  const socket: PassedNodeRedisSocketOptions = { connectTimeout: 10_000, keepAlive: true };
  const clientOptions: PassedNodeRedisOptions = { name: 'orders', socket };
  // keyless decides where and as whom; those keys are refused in clientOptions.
  const decidedByKeyless: RefusedNodeRedisOption[] = ['url', 'username', 'password', 'credentialsProvider'];
  if (decidedByKeyless.some((key) => key in clientOptions)) throw new Error('unreachable');
  const options: NodeRedisConnectorOptions = {
    password: passwordFromEntra(),
    user: objectId,
    tokenProvider,
    clientOptions,
  };
  return createNodeRedisConnector(options);
}

/** A local Redis Cluster for a test of a clustered cache (not run by the smoke: it needs redis-server). */
export async function clusterDrill(tls: RedisClusterOptions['tls']): Promise<RedisClusterNodeState[]> {
  const options: RedisClusterOptions = { tls, users: [{ name: 'orders', password: 'rotated-in-a-test' }] };
  const cluster: RedisClusterInstance = await startRedisCluster(options);
  try {
    const grow: AddRedisClusterNodeOptions = { slots: { from: 0, to: 99 } };
    const added: RedisClusterNode = await cluster.addNode(grow);
    await cluster.restartNode(added);
    return await cluster.topology();
  } finally {
    await cluster.stop();
  }
}

/** Azure Managed Redis with the OSS cluster policy (not run by the smoke): every node logged in, re-AUTH on each. */
export function clusteredCache(tokenProvider: TokenProvider, objectId: string): RedisClusterConnector {
  const clusterOptions: PassedClusterOptions = { scaleReads: 'master' };
  const options: RedisClusterConnectorOptions = {
    nodes: ['orders.westeurope.redis.azure.net:10000'],
    password: passwordFromEntra(),
    user: objectId,
    tokenProvider,
    clusterOptions,
  };
  return createRedisClusterConnector(options);
}

/** The cluster client type an application on node-redis v5 holds. */
export type OrdersClusterCache = NodeRedisCluster;

/** The same clustered cache on node-redis v5's createCluster (not run by the smoke). */
export function nodeRedisClusteredCache(
  tokenProvider: TokenProvider,
  objectId: string,
): NodeRedisClusterConnector {
  const clusterOptions: PassedNodeRedisClusterOptions = { useReplicas: true, RESP: 3 };
  // keyless decides the seeds, the per-node options and the address map; refused in clusterOptions.
  const decidedByKeyless: RefusedNodeRedisClusterOption[] = ['rootNodes', 'defaults', 'nodeAddressMap'];
  if (decidedByKeyless.some((key) => key in clusterOptions)) throw new Error('unreachable');
  const internalToPublic: NodeRedisNodeAddressMap = (address): NodeRedisNodeAddress | undefined =>
    address.startsWith('10.') ? { host: 'orders.westeurope.redis.azure.net', port: 10000 } : undefined;
  const options: NodeRedisClusterConnectorOptions = {
    nodes: ['orders.westeurope.redis.azure.net:10000'],
    password: passwordFromEntra(),
    user: objectId,
    tokenProvider,
    nodeAddressMap: internalToPublic,
    clientOptions: { socket: { connectTimeout: 10_000 } },
    clusterOptions,
  };
  return createNodeRedisClusterConnector(options);
}

// ---------------------------------------------------------------------------------------------
// @keyless/doctor: a deployment explains itself (what `npx keyless doctor` runs)
// ---------------------------------------------------------------------------------------------

/** A readiness script: the doctor's report for a configuration given in code, its failures as lines. */
export async function diagnose(
  vaultUrl: string,
  clientId: string,
): Promise<{ ok: boolean; lines: string[] }> {
  const identity: IdentityOption = { clientId };
  const postgres: PasswordServiceOptions = {
    host: 'orders.postgres.database.azure.com',
    entraUser: 'orders-app',
  };
  const file: DoctorOptionsFile = {
    tokenProvider: { backend: 'msal', identity },
    keyVault: { vaultUrl, secretName: 'postgres-password' },
    postgres: { ...postgres, database: 'orders' },
  };
  const options: DoctorOptions = { options: file, timeoutMs: 5_000, environment: process.env };
  const report: DoctorReport = await runDoctor(options);
  const host: HostReport = report.host;
  const kind: HostKind = host.kind;
  const who: IdentityReport = report.identity;
  const lines = [`${kind} ${who.backend} ${who.selector} ${who.objectId ?? ''}`];
  const failed = (status: DoctorStatus) => status === 'fail';
  const describe = (where: string, failure: DoctorFailure | undefined) => {
    if (failure) lines.push(`${where}: ${failure.cause} → ${failure.fix.join('; ')}`);
  };
  for (const clock of report.clock satisfies ClockReport[]) {
    if (failed(clock.status)) describe(`clock ${clock.skewSeconds ?? '?'} s`, clock.failure);
  }
  for (const resource of report.resources satisfies ResourceReport[]) {
    const kindOf: DoctorResourceKind = resource.resource;
    const token: TokenReport = resource.token;
    const claims: TokenClaimsReport | undefined = token.claims;
    const probe: ProbeReport = resource.probe;
    lines.push(`${kindOf} aud ${claims?.aud ?? '-'} ${probe.operation} ${probe.status}`);
    describe(`${kindOf} token`, token.failure);
    describe(`${kindOf} probe`, probe.failure);
  }
  lines.push(renderDoctorReport(report));
  return { ok: report.ok, lines };
}
