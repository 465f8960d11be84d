import type { IdentityEndpoint } from '../identity/identity-types.js';

/** The built-in Azure roles that grant secret access on an RBAC vault. */
export type KeyVaultRole = 'Key Vault Secrets User' | 'Key Vault Secrets Officer' | 'Key Vault Administrator';

/** One role assignment on the vault, as `az role assignment create` makes it. */
export interface KeyVaultRoleAssignment {
  /** The caller's object id: the token's `oid`. */
  principalId: string;
  role: KeyVaultRole;
}

/**
 * How the vault decides who may do what: Azure RBAC (role assignments, which Microsoft recommends)
 * or the legacy vault access policies
 * (https://learn.microsoft.com/azure/key-vault/general/rbac-access-policy).
 */
export type KeyVaultPermissionModel = 'rbac' | 'access-policy';

/** A secret permission of a vault access policy (`az keyvault set-policy --secret-permissions`). */
export type KeyVaultSecretPermission =
  | 'get'
  | 'list'
  | 'set'
  | 'delete'
  | 'recover'
  | 'backup'
  | 'restore'
  | 'purge';

/** What one access policy grants; only secrets are emulated. */
export interface KeyVaultAccessPolicyPermissions {
  secrets: readonly KeyVaultSecretPermission[];
}

/** One access policy entry of an access-policy vault. */
export interface KeyVaultAccessPolicy extends KeyVaultAccessPolicyPermissions {
  /** The caller's object id: the token's `oid`. */
  objectId: string;
}

/** The REST operation names of the Key Vault secrets API, as `counters.byOperation` takes them. */
export type KeyVaultOperation =
  | 'setSecret'
  | 'getSecret'
  | 'updateSecret'
  | 'deleteSecret'
  | 'getSecrets'
  | 'getSecretVersions'
  | 'getDeletedSecrets'
  | 'getDeletedSecret'
  | 'recoverDeletedSecret'
  | 'purgeDeletedSecret'
  | 'backupSecret'
  | 'restoreSecret';

/** Options of `startKeyVaultEmulator()`. */
export interface KeyVaultEmulatorOptions {
  /** Tokens are verified with the identity endpoint's keys, issuer and clock. */
  identity: Pick<IdentityEndpoint, 'verifyToken' | 'tenantId'>;
  /** PEM server certificate and key, e.g. from `ensureLocalCertificateAuthority`. */
  tls: { cert: string; key: string };
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /**
   * `'rbac'` (default): role assignments decide, a refusal is 403 `ForbiddenByRbac`.
   * `'access-policy'`: access policies decide, a refusal is 403 `AccessDenied`; roles are ignored.
   */
  permissionModel?: KeyVaultPermissionModel;
  /** Who may do what on an RBAC vault; principalId is the token's `oid`. */
  roleAssignments?: KeyVaultRoleAssignment[];
  /** Who may do what on an access-policy vault; objectId is the token's `oid`. */
  accessPolicies?: KeyVaultAccessPolicy[];
  /** Clock in milliseconds for created/updated timestamps and soft-delete dates. Default `Date.now`. */
  now?: () => number;
}

/** Attributes of a secret stored through the admin path. */
export interface SeedSecretOptions {
  /** Stored and returned as Azure does; not interpreted. */
  contentType?: string;
  /** Stored and returned as Azure does. */
  tags?: Record<string, string>;
  /** Default true. */
  enabled?: boolean;
}

/** How `faults.failWith()` fails requests. */
export interface KeyVaultFailureOptions {
  /** How many requests to fail; default every one until `clear()`. */
  count?: number;
  /** Sends `Retry-After`; a 429 always carries one (default 1), as Azure's do. */
  retryAfterSeconds?: number;
}

/** Fault injection for tests, until `clear()`. */
export interface KeyVaultFaults {
  /** Answer authenticated data-plane requests with `status` and Azure's error body. */
  failWith(status: number, options?: KeyVaultFailureOptions): void;
  /** Delay before answering each authenticated data-plane request. */
  setLatency(milliseconds: number): void;
  /** Ends every fault. */
  clear(): void;
}

/** Request counters, for tests that assert how often clients asked. */
export interface KeyVaultCounters {
  /** Every request that reached the HTTP layer, challenged and faulted ones included. */
  readonly requests: number;
  /** Requests routed to this operation (e.g. `getSecret`), whatever the answer. */
  byOperation(operation: KeyVaultOperation | (string & {})): number;
  /** Answers with this HTTP status. */
  byStatus(status: number): number;
  /** Sets every counter back to zero. */
  reset(): void;
}

/** A running Key Vault secrets emulator: its URL, RBAC, admin paths, faults and counters. */
export interface KeyVaultEmulator {
  /** `https://127.0.0.1:<port>/`, with the trailing slash a real `vaultUri` has. */
  readonly url: string;
  /** Grants `role` to the principal (the token's `oid`), as a role assignment on the vault does. */
  assignRole(principalId: string, role: KeyVaultRole): void;
  /** Without `role`, removes every role of the principal. */
  removeRole(principalId: string, role?: KeyVaultRole): void;
  /** `'rbac'` or `'access-policy'`, as started. */
  readonly permissionModel: KeyVaultPermissionModel;
  /**
   * Sets the object id's access policy (replacing its permissions), as `az keyvault set-policy` does;
   * takes `{ secrets: [...] }` or the array of secret permissions. Decides only on an access-policy vault.
   */
  setAccessPolicy(
    objectId: string,
    permissions: KeyVaultAccessPolicyPermissions | readonly KeyVaultSecretPermission[],
  ): void;
  /** Removes the object id's access policy, as `az keyvault delete-policy` does. */
  removeAccessPolicy(objectId: string): void;
  /** Admin path that bypasses authentication, for seeding and rotation; returns the new version id. */
  setSecret(name: string, value: string, options?: SeedSecretOptions): { version: string };
  /** Fault injection for authenticated data-plane requests. */
  readonly faults: KeyVaultFaults;
  /** Counters of requests and answers. */
  readonly counters: KeyVaultCounters;
  /** Every value ever stored, purged ones included, for canary scans. */
  secretValues(): readonly string[];
  /** Closes the server and every connection; idempotent. */
  stop(): Promise<void>;
}
