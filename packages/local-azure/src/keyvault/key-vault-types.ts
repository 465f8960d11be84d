import type { IdentityEndpoint } from '../identity/identity-types.js';

/** The built-in Azure roles that grant secret access on an RBAC vault. */
export type KeyVaultRole = 'Key Vault Secrets User' | 'Key Vault Secrets Officer' | 'Key Vault Administrator';

export interface KeyVaultRoleAssignment {
  /** The caller's object id: the token's `oid`. */
  principalId: string;
  role: KeyVaultRole;
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

export interface KeyVaultEmulatorOptions {
  /** Tokens are verified with the identity endpoint's keys, issuer and clock. */
  identity: Pick<IdentityEndpoint, 'verifyToken' | 'tenantId'>;
  /** PEM server certificate and key, e.g. from `ensureLocalCertificateAuthority`. */
  tls: { cert: string; key: string };
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Who may do what; principalId is the token's `oid`. */
  roleAssignments?: KeyVaultRoleAssignment[];
  /** Clock in milliseconds for created/updated timestamps and soft-delete dates. Default `Date.now`. */
  now?: () => number;
}

export interface SeedSecretOptions {
  contentType?: string;
  tags?: Record<string, string>;
  /** Default true. */
  enabled?: boolean;
}

export interface KeyVaultFailureOptions {
  /** How many requests to fail; default every one until `clear()`. */
  count?: number;
  /** Sends `Retry-After`; a 429 always carries one (default 1), as Azure's do. */
  retryAfterSeconds?: number;
}

export interface KeyVaultFaults {
  /** Answer authenticated data-plane requests with `status` and Azure's error body. */
  failWith(status: number, options?: KeyVaultFailureOptions): void;
  /** Delay before answering each authenticated data-plane request. */
  setLatency(milliseconds: number): void;
  clear(): void;
}

export interface KeyVaultCounters {
  /** Every request that reached the HTTP layer, challenged and faulted ones included. */
  readonly requests: number;
  /** Requests routed to this operation (e.g. `getSecret`), whatever the answer. */
  byOperation(operation: KeyVaultOperation | (string & {})): number;
  byStatus(status: number): number;
  reset(): void;
}

export interface KeyVaultEmulator {
  /** `https://127.0.0.1:<port>/`, with the trailing slash a real `vaultUri` has. */
  readonly url: string;
  assignRole(principalId: string, role: KeyVaultRole): void;
  /** Without `role`, removes every role of the principal. */
  removeRole(principalId: string, role?: KeyVaultRole): void;
  /** Admin path that bypasses authentication, for seeding and rotation; returns the new version id. */
  setSecret(name: string, value: string, options?: SeedSecretOptions): { version: string };
  readonly faults: KeyVaultFaults;
  readonly counters: KeyVaultCounters;
  /** Every value ever stored, purged ones included, for canary scans. */
  secretValues(): readonly string[];
  /** Closes the server and every connection; idempotent. */
  stop(): Promise<void>;
}
