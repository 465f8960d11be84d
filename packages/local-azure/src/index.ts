export { type AzuriteInstance, type AzuriteOptions, startAzurite } from './blob/azurite-launcher.js';
export { type BlobEmulator, type BlobEmulatorOptions, startBlobEmulator } from './blob/blob-emulator.js';
export type { BlobRoleAssignment } from './blob/blob-role-assignments.js';
export type { BlobDataRole } from './blob/blob-roles.js';
export {
  ensureLocalCertificateAuthority,
  type LocalCertificateAuthority,
} from './certificates/local-certificate-authority.js';
export { trustBundleFor } from './certificates/trust-bundle.js';
export { UnreadableExtraCertificatesError } from './certificates/unreadable-extra-certificates-error.js';
export { startIdentityEndpoint } from './identity/identity-endpoint.js';
export type {
  FederatedIdentityCredential,
  IdentityCounters,
  IdentityEndpoint,
  IdentityEndpointOptions,
  IdentityFaults,
  IdentityProtocol,
  IssuedTokenEvent,
  ManagedIdentityDefinition,
  ServiceAccountTokenOptions,
  SystemAssignedIdentityDefinition,
  ThrottleOptions,
  TokenIssuedListener,
  VerifiedTokenClaims,
  VerifyTokenExpectations,
  WorkloadIdentityEmulation,
  WorkloadIdentityOptions,
} from './identity/identity-types.js';
export { type TokenVerificationCheck, TokenVerificationError } from './identity/token-verifier.js';
// Key Vault emulator
export { startKeyVaultEmulator } from './keyvault/key-vault-emulator.js';
export type {
  KeyVaultAccessPolicy,
  KeyVaultAccessPolicyPermissions,
  KeyVaultCounters,
  KeyVaultEmulator,
  KeyVaultEmulatorOptions,
  KeyVaultFailureOptions,
  KeyVaultFaults,
  KeyVaultOperation,
  KeyVaultPermissionModel,
  KeyVaultRole,
  KeyVaultRoleAssignment,
  KeyVaultSecretPermission,
  SeedSecretOptions,
} from './keyvault/key-vault-types.js';
// PostgreSQL and Redis launchers
export { startPostgres } from './postgres/postgres-launcher.js';
export type {
  PostgresEntraRole,
  PostgresInstance,
  PostgresLauncherOptions,
  PostgresPasswordUser,
  PostgresRestartOptions,
} from './postgres/postgres-types.js';
// A free loopback port, for tests that need a port nothing listens on
export { findFreePort } from './processes/free-port.js';
export { MissingBinaryError, MissingPackageError, ServerStartError } from './processes/launcher-errors.js';
export { startRedisCluster } from './redis/redis-cluster-launcher.js';
export type {
  AddRedisClusterNodeOptions,
  RedisClusterInstance,
  RedisClusterNode,
  RedisClusterNodeState,
  RedisClusterOptions,
} from './redis/redis-cluster-types.js';
export { startRedis } from './redis/redis-launcher.js';
export type {
  RedisAccessPolicyName,
  RedisCounters,
  RedisEntraUser,
  RedisInstance,
  RedisLauncherOptions,
  RedisPasswordUser,
} from './redis/redis-types.js';
// SQL (TDS) endpoint
export {
  type ExistingSessionsDuringReconfiguration,
  type ReconfigureOptions,
  type SqlConnectionPolicy,
  type SqlEndpoint,
  type SqlEndpointCounters,
  type SqlEndpointFaults,
  type SqlEndpointOptions,
  type SqlPrincipal,
  startSqlEndpoint,
  type TokenRecheckErrorNumber,
  type TokenRecheckOptions,
  type TokenVerifier,
  type TransientLoginErrorNumber,
} from './sql/sql-endpoint.js';
export {
  type LocalAzure,
  type LocalAzureHost,
  type LocalAzureOptions,
  localAzureHosts,
  startLocalAzure,
} from './stack/local-azure-stack.js';
export { renderDotEnv, renderExportLines } from './stack/stack-environment.js';
export {
  type LocalServiceName,
  localServiceNames,
  type StackProgressEvent,
  type StackProgressListener,
} from './stack/stack-progress.js';
