import { join, resolve } from 'node:path';
import { resolveAzuriteBlobMain } from '../blob/azurite-package.js';
import { type BlobEmulator, startBlobEmulator } from '../blob/blob-emulator.js';
import { seedBlob } from '../blob/seed-blob.js';
import {
  ensureLocalCertificateAuthority,
  type LocalCertificateAuthority,
} from '../certificates/local-certificate-authority.js';
import { trustBundleFor } from '../certificates/trust-bundle.js';
import { startIdentityEndpoint } from '../identity/identity-endpoint.js';
import type { IdentityEndpoint, ManagedIdentityDefinition } from '../identity/identity-types.js';
import { mintTokenOverHttp } from '../identity/mint-token.js';
import { startKeyVaultEmulator } from '../keyvault/key-vault-emulator.js';
import type { KeyVaultEmulator, KeyVaultPermissionModel } from '../keyvault/key-vault-types.js';
import { startPostgres } from '../postgres/postgres-launcher.js';
import type { PostgresInstance } from '../postgres/postgres-types.js';
import { randomSecret } from '../processes/random-secret.js';
import { startRedisCluster } from '../redis/redis-cluster-launcher.js';
import type { RedisClusterInstance } from '../redis/redis-cluster-types.js';
import { startRedis } from '../redis/redis-launcher.js';
import type { RedisAccessPolicyName, RedisInstance } from '../redis/redis-types.js';
import { type SqlConnectionPolicy, type SqlEndpoint, startSqlEndpoint } from '../sql/sql-endpoint.js';
import { seedData } from './seed-data.js';
import { type LocalServiceName, localServiceNames, type StackProgressListener } from './stack-progress.js';

/**
 * Which Azure host the application pretends to run on, i.e. how it finds its identity:
 * - `app-service`: App Service / Functions / Container Apps (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`);
 * - `imds`: a VM or VM scale set, IMDS at `AZURE_POD_IDENTITY_AUTHORITY_HOST`;
 * - `aks`: AKS workload identity (`AZURE_AUTHORITY_HOST`, `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
 *   `AZURE_FEDERATED_TOKEN_FILE`): a projected service-account token exchanged at the local Entra endpoint.
 */
export type LocalAzureHost = 'app-service' | 'imds' | 'aks';
/** Every `LocalAzureHost`, as `keyless-local up --host` accepts them. */
export const localAzureHosts: readonly LocalAzureHost[] = ['app-service', 'imds', 'aks'];

/** Options of `startLocalAzure()`; every one has a default. */
export interface LocalAzureOptions {
  /** The host kind whose environment `env` holds. Default `app-service`. */
  host?: LocalAzureHost;
  /** Which services to start (default: all). The identity endpoint always runs. */
  services?: readonly LocalServiceName[];
  /** Where the CA and other state live. Default `.keyless-local` in the working folder. */
  stateFolder?: string;
  /** Put the sample data in (default true). */
  seed?: boolean;
  /** Lifetime of minted tokens, seconds. Default 86 400 like Azure; tests use short ones. */
  tokenLifetimeSeconds?: number;
  /** Told when each service starts, is seeded, is ready or stops. */
  onProgress?: StackProgressListener;
  /**
   * `permissionModel: 'access-policy'` runs the vault as one that still uses access policies: the
   * application identity gets an access policy with secret `get` and `list` instead of the
   * *Key Vault Secrets User* role, and refusals are 403 `AccessDenied`. Default `'rbac'`.
   */
  keyVault?: { permissionModel?: KeyVaultPermissionModel };
  /**
   * `connectionPolicy: 'redirect'`: the SQL endpoint answers logins on `KEYLESS_SQL_PORT` (the
   * gateway) with a routing redirect to a second listener, as Azure SQL does for clients inside
   * Azure. Default `'proxy'`.
   */
  sql?: { connectionPolicy?: SqlConnectionPolicy };
  /**
   * The built-in access policy of the app identity's Redis user (Entra mode). Default
   * `'Data Contributor'`, the one docs/azure-setup.md assigns: no `@dangerous` command (INFO, KEYS,
   * CLIENT LIST, FLUSHALL, …). The password user stands for an access key, which Azure gives every
   * permission, and stays `'Data Owner'`.
   *
   * `cluster: true` starts a Redis Cluster instead of the standalone server (3 masters + 3 replicas,
   * TLS only, as Azure Managed Redis's OSS cluster policy presents it): `redisCluster` is set,
   * `redis` is not, and `env` has `KEYLESS_REDIS_CLUSTER_NODES` instead of the host and ports.
   */
  redis?: { accessPolicy?: RedisAccessPolicyName; cluster?: boolean };
}

/** The running local stack: the environment for an application, each service, and `stop()`. */
export interface LocalAzure {
  /** The variables an application needs, e.g. for `Object.assign(process.env, stack.env)` before it starts. */
  readonly env: Readonly<Record<string, string>>;
  /** The CA every TLS service's certificate is signed by. */
  readonly ca: LocalCertificateAuthority;
  /** The host kind `env` is for. */
  readonly host: LocalAzureHost;
  /** The managed-identity endpoint (always running); with host `aks`, also `identity.workloadIdentity`. */
  readonly identity: IdentityEndpoint;
  /** The user-assigned identity the application runs as (AZURE_CLIENT_ID), granted on every service. */
  readonly appIdentity: ManagedIdentityDefinition;
  /** The services that were started. */
  readonly services: readonly LocalServiceName[];
  /**
   * Blob Storage, when `blob` was started: Azurite behind a front that verifies token signatures
   * and role assignments. `blob.assignRole()` / `blob.removeRole()` change who may do what; the
   * seed gives the app identity *Storage Blob Data Contributor* on the account.
   */
  readonly blob: BlobEmulator | undefined;
  /** The Key Vault emulator, when `keyvault` was started. */
  readonly keyVault: KeyVaultEmulator | undefined;
  /** The SQL endpoint, when `sql` was started. */
  readonly sql: SqlEndpoint | undefined;
  /** PostgreSQL, when `postgres` was started. */
  readonly postgres: PostgresInstance | undefined;
  /** Redis, when `redis` was started without `redis.cluster`. */
  readonly redis: RedisInstance | undefined;
  /** The Redis Cluster, when `redis` was started with `redis: { cluster: true }`: `failover()`, `restartNode()`, `addNode()`. */
  readonly redisCluster: RedisClusterInstance | undefined;
  /**
   * Rotates the password user's password on the server and stores it as a new version of its
   * Key Vault secret — what a rotation job does in Azure. Sessions already open stay up.
   */
  rotatePostgresPassword(): Promise<void>;
  /** The same for the Redis password user: a new password on the server (every node of a cluster) and a new secret version. */
  rotateRedisPassword(): Promise<void>;
  /** Stops every service, in reverse order of starting; idempotent. */
  stop(): Promise<void>;
}

/** A started service: what it adds to the environment and how to stop it. */
interface RunningService {
  name: LocalServiceName;
  stop(): Promise<void>;
}

/**
 * Starts the local Azure stack: CA, identity endpoint, then each requested emulator, seeds it and
 * returns the environment an unchanged application needs. A failure part-way stops whatever had
 * started, so nothing is left behind.
 */
export async function startLocalAzure(options: LocalAzureOptions = {}): Promise<LocalAzure> {
  const requested = new Set<LocalServiceName>(['identity', ...(options.services ?? localServiceNames)]);
  // The database passwords are Key Vault secrets, as they would be in Azure.
  if (requested.has('postgres') || requested.has('redis')) requested.add('keyvault');
  // Azurite is an optional peer: a missing one fails here, before any service has started.
  if (requested.has('blob')) resolveAzuriteBlobMain();
  const progress = options.onProgress ?? (() => {});
  const stateFolder = resolve(options.stateFolder ?? '.keyless-local');
  const seed = options.seed ?? true;
  const host = options.host ?? 'app-service';
  if (!localAzureHosts.includes(host)) {
    throw new TypeError(
      `startLocalAzure: host must be one of ${localAzureHosts.join(', ')}, got '${String(host)}'`,
    );
  }
  const running: RunningService[] = [];
  const environment: Record<string, string> = {};

  const stopAll = async () => {
    for (const service of running.splice(0).reverse()) {
      progress({ service: service.name, phase: 'stopping' });
      await service.stop().catch(() => {});
      progress({ service: service.name, phase: 'stopped' });
    }
  };

  try {
    const ca = await ensureLocalCertificateAuthority(stateFolder);
    // Added to what this process's user already trusts (e.g. a TLS-inspecting proxy's CA), never instead.
    environment.NODE_EXTRA_CA_CERTS = await trustBundleFor(ca);

    progress({ service: 'identity', phase: 'starting' });
    const identity = await startIdentityEndpoint({
      ...(options.tokenLifetimeSeconds ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
      ...(host === 'aks'
        ? {
            workloadIdentity: {
              tls: { cert: ca.serverCertificate, key: ca.serverKey },
              // In the state folder, like the kubelet's projected volume under the pod's.
              tokenFilePath: join(stateFolder, 'workload-identity', 'azure-identity-token'),
            },
          }
        : {}),
    });
    running.push({ name: 'identity', stop: () => identity.stop() });
    const appIdentity = identity.userAssigned[0] as ManagedIdentityDefinition;
    Object.assign(environment, hostEnvironment(host, identity, appIdentity));
    progress({
      service: 'identity',
      phase: 'ready',
      detail: identity.workloadIdentity
        ? `${identity.url}, Entra ${identity.workloadIdentity.authorityHost} (AKS workload identity)`
        : identity.url,
    });

    // Key Vault first: the database launchers store their passwords in it.
    let keyVault: KeyVaultEmulator | undefined;
    if (requested.has('keyvault')) {
      progress({ service: 'keyvault', phase: 'starting' });
      const permissionModel = options.keyVault?.permissionModel ?? 'rbac';
      keyVault = await startKeyVaultEmulator({
        identity,
        tls: { cert: ca.serverCertificate, key: ca.serverKey },
        permissionModel,
        // The same grant in either model: read secrets and list them.
        ...(permissionModel === 'access-policy'
          ? { accessPolicies: [{ objectId: appIdentity.objectId, secrets: ['get', 'list'] }] }
          : { roleAssignments: [{ principalId: appIdentity.objectId, role: 'Key Vault Secrets User' }] }),
      });
      const started = keyVault;
      running.push({ name: 'keyvault', stop: () => started.stop() });
      environment.KEYLESS_KEYVAULT_URL = keyVault.url;
      if (seed) {
        progress({ service: 'keyvault', phase: 'seeding' });
        keyVault.setSecret(seedData.keyVault.demoSecretName, seedData.keyVault.demoSecretValue, {
          contentType: 'text/plain',
        });
      }
      progress({ service: 'keyvault', phase: 'ready', detail: keyVault.url });
    }

    let blob: BlobEmulator | undefined;
    if (requested.has('blob')) {
      progress({ service: 'blob', phase: 'starting' });
      blob = await startBlobEmulator({
        identity,
        tls: {
          certPath: ca.serverCertificatePath,
          keyPath: ca.serverKeyPath,
          cert: ca.serverCertificate,
          key: ca.serverKey,
          ca: ca.caCertificate,
        },
        // The role docs/azure-setup.md assigns (there on the demo container; here on the account, so
        // a script may also create containers of its own).
        roleAssignments: [{ principalId: appIdentity.objectId, role: 'Storage Blob Data Contributor' }],
      });
      const started = blob;
      running.push({ name: 'blob', stop: () => started.stop() });
      environment.KEYLESS_BLOB_ACCOUNT_URL = blob.blobEndpoint;
      if (seed) {
        progress({ service: 'blob', phase: 'seeding' });
        await seedBlob({
          blobEndpoint: blob.blobEndpoint,
          token: await mintTokenOverHttp(identity, appIdentity, 'https://storage.azure.com'),
          ca: ca.caCertificate,
          ...seedData.blob,
        });
      }
      progress({ service: 'blob', phase: 'ready', detail: blob.blobEndpoint });
    }

    let sql: SqlEndpoint | undefined;
    if (requested.has('sql')) {
      progress({ service: 'sql', phase: 'starting' });
      sql = await startSqlEndpoint({
        tokenVerifier: identity,
        tenantId: identity.tenantId,
        tls: { cert: ca.serverCertificate, key: ca.serverKey },
        // As `CREATE USER [keyless-app] FROM EXTERNAL PROVIDER` would in Azure SQL.
        principals: seed ? [{ name: appIdentity.name, objectId: appIdentity.objectId }] : [],
        ...(options.sql?.connectionPolicy ? { connectionPolicy: options.sql.connectionPolicy } : {}),
      });
      const started = sql;
      running.push({ name: 'sql', stop: () => started.stop() });
      Object.assign(environment, {
        KEYLESS_SQL_SERVER: sql.host,
        KEYLESS_SQL_PORT: String(sql.port),
        KEYLESS_SQL_DATABASE: sql.database,
      });
      progress({ service: 'sql', phase: 'ready', detail: `${sql.host}:${sql.port}/${sql.database}` });
    }

    let postgres: PostgresInstance | undefined;
    if (requested.has('postgres') && keyVault) {
      progress({ service: 'postgres', phase: 'starting' });
      const password = randomSecret();
      postgres = await startPostgres({
        identity,
        tls: { certPath: ca.serverCertificatePath, keyPath: ca.serverKeyPath },
        database: seedData.postgres.database,
        users: [{ name: seedData.postgres.user, password }],
        // Entra mode: the identity's display name is its role, as pgaadauth_create_principal makes it.
        entraRoles: [{ roleName: appIdentity.name, objectId: appIdentity.objectId }],
      });
      const started = postgres;
      running.push({ name: 'postgres', stop: () => started.stop() });
      keyVault.setSecret(seedData.postgres.passwordSecretName, password);
      Object.assign(environment, {
        KEYLESS_POSTGRES_HOST: postgres.host,
        KEYLESS_POSTGRES_PORT: String(postgres.port),
        KEYLESS_POSTGRES_DATABASE: postgres.database,
        KEYLESS_POSTGRES_USER: seedData.postgres.user,
        KEYLESS_POSTGRES_PASSWORD_SECRET: seedData.postgres.passwordSecretName,
        KEYLESS_POSTGRES_ENTRA_USER: appIdentity.name,
      });
      progress({
        service: 'postgres',
        phase: 'ready',
        detail: `${postgres.host}:${postgres.port}/${postgres.database}`,
      });
    }

    let redis: RedisInstance | undefined;
    let redisCluster: RedisClusterInstance | undefined;
    if (requested.has('redis') && keyVault) {
      progress({ service: 'redis', phase: 'starting' });
      const password = randomSecret();
      const redisOptions = {
        identity,
        tls: { certPath: ca.serverCertificatePath, keyPath: ca.serverKeyPath, caPath: ca.caCertificatePath },
        // It stands for an access key, which authenticates as Redis's `default` user with every permission.
        users: [{ name: seedData.redis.user, password, accessPolicy: 'Data Owner' as const }],
        // Entra mode: the user is the identity's object id, as in Azure Cache for Redis, with the
        // policy docs/azure-setup.md assigns to it.
        entraUsers: [
          {
            objectId: appIdentity.objectId,
            accessPolicy: options.redis?.accessPolicy ?? 'Data Contributor',
          },
        ],
      };
      const userEnvironment = {
        KEYLESS_REDIS_USER: seedData.redis.user,
        KEYLESS_REDIS_PASSWORD_SECRET: seedData.redis.passwordSecretName,
        KEYLESS_REDIS_ENTRA_USER: appIdentity.objectId,
      };
      if (options.redis?.cluster) {
        redisCluster = await startRedisCluster(redisOptions);
        const started = redisCluster;
        running.push({ name: 'redis', stop: () => started.stop() });
        keyVault.setSecret(seedData.redis.passwordSecretName, password);
        Object.assign(environment, {
          // The seed list: TLS ports (the nodes serve clients over TLS only, as Azure Managed Redis's port 10000).
          KEYLESS_REDIS_CLUSTER_NODES: redisCluster.seedList,
          ...userEnvironment,
        });
        progress({ service: 'redis', phase: 'ready', detail: `cluster (TLS) ${redisCluster.seedList}` });
      } else {
        redis = await startRedis(redisOptions);
        const started = redis;
        running.push({ name: 'redis', stop: () => started.stop() });
        keyVault.setSecret(seedData.redis.passwordSecretName, password);
        Object.assign(environment, {
          KEYLESS_REDIS_HOST: redis.host,
          KEYLESS_REDIS_PORT: String(redis.port),
          ...(redis.tlsPort === undefined ? {} : { KEYLESS_REDIS_TLS_PORT: String(redis.tlsPort) }),
          ...userEnvironment,
        });
        progress({
          service: 'redis',
          phase: 'ready',
          detail: `${redis.host}:${redis.port} (TLS ${redis.tlsPort})`,
        });
      }
    }

    const rotate = async (
      server: { rotatePassword(user: string): Promise<string> } | undefined,
      user: string,
      secretName: string,
      service: LocalServiceName,
    ) => {
      if (!server || !keyVault) throw new Error(`${service} is not running in this stack`);
      const password = await server.rotatePassword(user);
      keyVault.setSecret(secretName, password);
    };

    let stopped: Promise<void> | undefined;
    return {
      env: Object.freeze({ ...environment }),
      host,
      ca,
      identity,
      appIdentity,
      services: [...requested],
      blob,
      keyVault,
      sql,
      postgres,
      redis,
      redisCluster,
      rotatePostgresPassword: () =>
        rotate(postgres, seedData.postgres.user, seedData.postgres.passwordSecretName, 'postgres'),
      rotateRedisPassword: () =>
        rotate(redis ?? redisCluster, seedData.redis.user, seedData.redis.passwordSecretName, 'redis'),
      stop() {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    progress({
      service: 'stack',
      phase: 'failed',
      detail: error instanceof Error ? error.message : String(error),
    });
    await stopAll();
    throw error;
  }
}

/** What the host kind's platform injects into the application's environment. */
function hostEnvironment(
  host: LocalAzureHost,
  identity: IdentityEndpoint,
  appIdentity: ManagedIdentityDefinition,
): Record<string, string> {
  switch (host) {
    case 'aks':
      // Exactly what the AKS workload-identity webhook injects (https://learn.microsoft.com/azure/aks/workload-identity-overview#service-account-labels-and-annotations).
      return identity.workloadIdentity?.environment(appIdentity.clientId) ?? {};
    case 'imds':
      return { ...identity.imdsEnvironment(), AZURE_CLIENT_ID: appIdentity.clientId };
    default:
      return { ...identity.appServiceEnvironment(), AZURE_CLIENT_ID: appIdentity.clientId };
  }
}
