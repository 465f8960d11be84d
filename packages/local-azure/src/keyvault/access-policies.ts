import { callerDescription } from '../authorization/bearer-token.js';
import type { VerifiedTokenClaims } from '../identity/identity-types.js';
import { KeyVaultError } from './key-vault-errors.js';
import type {
  KeyVaultAccessPolicy,
  KeyVaultAccessPolicyPermissions,
  KeyVaultOperation,
  KeyVaultSecretPermission,
} from './key-vault-types.js';
import { vaultName } from './role-assignments.js';

/**
 * The secret permissions an access policy can grant, as `az keyvault set-policy --secret-permissions`
 * takes them (Microsoft.KeyVault `SecretPermissions`; `all` is a portal/CLI shorthand, not stored).
 */
export const keyVaultSecretPermissions: readonly KeyVaultSecretPermission[] = [
  'get',
  'list',
  'set',
  'delete',
  'recover',
  'backup',
  'restore',
  'purge',
];

/**
 * The permission each operation needs, as the Key Vault REST reference states it for each operation
 * ("This operation requires the secrets/get permission", …):
 * https://learn.microsoft.com/rest/api/keyvault/secrets/operation-groups
 * Getting one deleted secret needs `get`, listing them `list`; updating properties needs `set`.
 */
const requiredPermission: Record<KeyVaultOperation, KeyVaultSecretPermission> = {
  getSecret: 'get',
  getSecrets: 'list',
  getSecretVersions: 'list',
  setSecret: 'set',
  updateSecret: 'set',
  deleteSecret: 'delete',
  getDeletedSecret: 'get',
  getDeletedSecrets: 'list',
  recoverDeletedSecret: 'recover',
  purgeDeletedSecret: 'purge',
  backupSecret: 'backup',
  restoreSecret: 'restore',
};

/**
 * A vault that uses the access-policy permission model: one policy per object id, holding secret
 * permissions. Role assignments play no part on such a vault: `enableRbacAuthorization` false means
 * "the key vault will use the access policies specified in vault properties", true that "the access
 * policies … will be ignored"
 * (https://learn.microsoft.com/rest/api/keyvault/keyvault/vaults/create-or-update, `VaultProperties`;
 * https://learn.microsoft.com/azure/key-vault/general/rbac-access-policy).
 */
export class AccessPolicies {
  // Keyed by lower-cased object id: GUIDs compare case-insensitively.
  readonly #permissionsByObjectId = new Map<string, ReadonlySet<KeyVaultSecretPermission>>();

  constructor(initial: readonly KeyVaultAccessPolicy[] = []) {
    if (!Array.isArray(initial)) {
      throw new TypeError('startKeyVaultEmulator: accessPolicies must be an array of { objectId, secrets }');
    }
    for (const policy of initial) this.set(policy?.objectId, policy?.secrets, 'accessPolicies');
  }

  /** Replaces the object id's policy, as `az keyvault set-policy` replaces the permissions it names. */
  set(
    objectId: string,
    permissions: KeyVaultAccessPolicyPermissions | readonly KeyVaultSecretPermission[],
    caller = 'setAccessPolicy',
  ): void {
    const key = objectIdKey(objectId, caller);
    const secrets = Array.isArray(permissions)
      ? permissions
      : (permissions as KeyVaultAccessPolicyPermissions | undefined)?.secrets;
    this.#permissionsByObjectId.set(key, new Set(assertSecretPermissions(secrets, caller)));
  }

  remove(objectId: string): void {
    this.#permissionsByObjectId.delete(objectIdKey(objectId, 'removeAccessPolicy'));
  }

  /** Throws Azure's 403 with inner error `AccessDenied` when the caller's policy lacks the permission. */
  authorize(claims: VerifiedTokenClaims, operation: KeyVaultOperation): void {
    const permission = requiredPermission[operation];
    if (this.#permissionsByObjectId.get(claims.oid.toLowerCase())?.has(permission)) return;
    throw accessDenied(claims, permission);
  }
}

/**
 * Azure's answer on an access-policy vault, as Microsoft's troubleshooting article quotes it:
 * `Status=403 Code="Forbidden" Message="The user, group or application 'appid=…;oid=…;iss=…' does not
 * have secrets get permission on key vault '<vault>;location=<region>'. For help resolving this issue,
 * please see https://go.microsoft.com/fwlink/?linkid=2125287" InnerError={"code":"AccessDenied"}`
 * (https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/extensions/istio-add-on-plug-in-ca-certificate,
 * "Issue 1"); `AccessDenied` is "You may be missing permissions in access policy to do that operation"
 * (https://learn.microsoft.com/azure/key-vault/general/common-error-codes).
 */
function accessDenied(claims: VerifiedTokenClaims, permission: KeyVaultSecretPermission): KeyVaultError {
  return new KeyVaultError(
    403,
    'Forbidden',
    `The user, group or application '${callerDescription(claims)}' does not have secrets ${permission} permission on key vault '${vaultName};location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
    { innerCode: 'AccessDenied' },
  );
}

function objectIdKey(objectId: string, caller: string): string {
  if (typeof objectId !== 'string' || objectId.trim() === '') {
    throw new TypeError(`${caller}: objectId must be the caller's object id (the token's oid)`);
  }
  return objectId.trim().toLowerCase();
}

function assertSecretPermissions(secrets: unknown, caller: string): KeyVaultSecretPermission[] {
  const allowed = keyVaultSecretPermissions.map((name) => `'${name}'`).join(', ');
  if (!Array.isArray(secrets)) {
    throw new TypeError(`${caller}: secrets must be an array of secret permissions (${allowed})`);
  }
  for (const permission of secrets) {
    if (!keyVaultSecretPermissions.includes(permission as KeyVaultSecretPermission)) {
      throw new TypeError(
        `${caller}: unknown secret permission ${JSON.stringify(permission)}; one of ${allowed}`,
      );
    }
  }
  return secrets as KeyVaultSecretPermission[];
}
