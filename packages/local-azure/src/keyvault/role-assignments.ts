import { callerDescription, principalKey } from '../authorization/bearer-token.js';
import type { VerifiedTokenClaims } from '../identity/identity-types.js';
import { KeyVaultError } from './key-vault-errors.js';
import type { KeyVaultOperation, KeyVaultRole, KeyVaultRoleAssignment } from './key-vault-types.js';

export const keyVaultRoles: readonly KeyVaultRole[] = [
  'Key Vault Secrets User',
  'Key Vault Secrets Officer',
  'Key Vault Administrator',
];

// The data action each operation needs, as Azure names it in its 403 message.
const dataActions: Record<KeyVaultOperation, string> = {
  getSecret: 'Microsoft.KeyVault/vaults/secrets/getSecret/action',
  getSecrets: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
  getSecretVersions: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
  setSecret: 'Microsoft.KeyVault/vaults/secrets/setSecret/action',
  updateSecret: 'Microsoft.KeyVault/vaults/secrets/update/action',
  deleteSecret: 'Microsoft.KeyVault/vaults/secrets/delete',
  recoverDeletedSecret: 'Microsoft.KeyVault/vaults/secrets/recover/action',
  purgeDeletedSecret: 'Microsoft.KeyVault/vaults/secrets/purge/action',
  backupSecret: 'Microsoft.KeyVault/vaults/secrets/backup/action',
  restoreSecret: 'Microsoft.KeyVault/vaults/secrets/restore/action',
  // keyless's table keeps reading deleted secrets to the roles that can delete them.
  getDeletedSecret: 'Microsoft.KeyVault/vaults/deletedSecrets/read/action',
  getDeletedSecrets: 'Microsoft.KeyVault/vaults/deletedSecrets/read/action',
};

// Secrets User reads values and metadata; Officer and Administrator hold `secrets/*`.
const secretsUserOperations: ReadonlySet<KeyVaultOperation> = new Set([
  'getSecret',
  'getSecrets',
  'getSecretVersions',
]);

// The names Azure prints in the Resource line; fixed like the identity endpoint's ids.
export const vaultName = 'keyless-local';
const vaultResourceId = `/subscriptions/6b65796c-6573-4000-8000-000000000002/resourcegroups/keyless-local/providers/microsoft.keyvault/vaults/${vaultName}`;

export class RoleAssignments {
  // Keyed by lower-cased object id: GUIDs compare case-insensitively.
  readonly #rolesByPrincipal = new Map<string, Set<KeyVaultRole>>();

  constructor(initial: readonly KeyVaultRoleAssignment[] = []) {
    for (const assignment of initial) this.assign(assignment.principalId, assignment.role);
  }

  assign(principalId: string, role: KeyVaultRole): void {
    const key = principalKey(principalId, 'assignRole');
    assertRole(role, 'assignRole');
    const roles = this.#rolesByPrincipal.get(key) ?? new Set<KeyVaultRole>();
    roles.add(role);
    this.#rolesByPrincipal.set(key, roles);
  }

  remove(principalId: string, role?: KeyVaultRole): void {
    const key = principalKey(principalId, 'removeRole');
    if (role === undefined) {
      this.#rolesByPrincipal.delete(key);
      return;
    }
    assertRole(role, 'removeRole');
    const roles = this.#rolesByPrincipal.get(key);
    roles?.delete(role);
    if (roles?.size === 0) this.#rolesByPrincipal.delete(key);
  }

  /** Throws Azure's 403 `ForbiddenByRbac` when no role of the caller grants the operation. */
  authorize(claims: VerifiedTokenClaims, operation: KeyVaultOperation, secretName?: string): void {
    const roles = this.#rolesByPrincipal.get(claims.oid.toLowerCase());
    if (roles && [...roles].some((role) => roleAllows(role, operation))) return;
    throw forbiddenByRbac(claims, operation, secretName);
  }
}

function roleAllows(role: KeyVaultRole, operation: KeyVaultOperation): boolean {
  return role === 'Key Vault Secrets User' ? secretsUserOperations.has(operation) : true;
}

function forbiddenByRbac(
  claims: VerifiedTokenClaims,
  operation: KeyVaultOperation,
  secretName: string | undefined,
): KeyVaultError {
  const resource = secretName ? `${vaultResourceId}/secrets/${secretName.toLowerCase()}` : vaultResourceId;
  // Azure's own lines, CRLF-separated, including the space before the last CRLF of DecisionReason.
  const message = [
    'Caller is not authorized to perform action on resource.',
    'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
    `Caller: ${callerDescription(claims)}`,
    `Action: '${dataActions[operation]}'`,
    `Resource: '${resource}'`,
    'Assignment: (not found)',
    'DenyAssignmentId: null',
    "DecisionReason: 'DeniedWithNoValidRBAC' ",
    `Vault: ${vaultName};location=local`,
    '',
  ].join('\r\n');
  return new KeyVaultError(403, 'Forbidden', message, { innerCode: 'ForbiddenByRbac' });
}

function assertRole(role: KeyVaultRole, caller: string): void {
  if (!keyVaultRoles.includes(role)) {
    throw new TypeError(
      `${caller}: role must be one of ${keyVaultRoles.map((name) => `'${name}'`).join(', ')}`,
    );
  }
}
