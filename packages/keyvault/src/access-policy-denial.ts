import { isIP } from 'node:net';
import { maxErrorTextLength } from '@keyless/core/internal';

/**
 * A vault in the (legacy) access-policy permission model refuses a caller that no policy grants the
 * operation with 403, inner error `AccessDenied` — not the `ForbiddenByRbac` of an RBAC vault — and
 * a message naming the caller and the missing permission, as Microsoft's troubleshooting guide quotes
 * it
 * (https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/extensions/istio-add-on-plug-in-ca-certificate):
 *
 *     Status=403 Code="Forbidden" Message="The user, group or application
 *     'appid=<appid>;oid=<oid>;iss=<iss>' does not have secrets get permission on key vault
 *     'MyAzureKeyVault;location=eastus'. For help resolving this issue, please see
 *     https://go.microsoft.com/fwlink/?linkid=2125287" InnerError={"code":"AccessDenied"}
 *
 * The two models need different fixes (an access policy, or a role assignment), so the error tells
 * them apart. Microsoft recommends Azure RBAC for the data plane
 * (https://learn.microsoft.com/azure/key-vault/general/rbac-access-policy), and switching a vault over
 * turns its access policies off (https://learn.microsoft.com/azure/key-vault/general/rbac-migration).
 */
export const accessPolicyInnerCode = 'AccessDenied';

/** Key Vault's secret permissions, as its access-policy message names them. */
const missingPermissionPattern =
  /does not have secrets (get|list|set|delete|recover|purge|backup|restore) permission/;
/** The caller's object id as the message names it (`…;oid=<guid>;…`): a GUID, nothing else is read. */
const objectIdPattern = /\boid=([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/i;
/** Vault names: 3–24 letters, digits and dashes (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault). */
const vaultNamePattern = /^[a-z0-9-]{3,24}$/i;

export interface AccessPolicyDenial {
  /** `secrets get`, `secrets list`, … when the message says which. */
  missingPermission: string | undefined;
  hint: string;
}

/**
 * The access-policy reading of a 403, or undefined when it is not one: the inner error
 * `AccessDenied`, or — for an answer without its inner error — Azure's access-policy sentence. The
 * message is the server's: only its first `maxErrorTextLength` characters are read, and only a GUID
 * and a permission word are taken from it, never quoted.
 */
export function accessPolicyDenial(
  innerCode: string | undefined,
  message: string,
  vaultUrl: string,
): AccessPolicyDenial | undefined {
  const text = message.length <= maxErrorTextLength ? message : message.slice(0, maxErrorTextLength);
  const permission = missingPermissionPattern.exec(text)?.[1];
  if (innerCode !== accessPolicyInnerCode && (innerCode !== undefined || permission === undefined)) {
    return undefined;
  }
  const vault = vaultNameOf(vaultUrl) ?? '<vault>';
  const objectId = objectIdPattern.exec(text)?.[1]?.toLowerCase() ?? '<object-id>';
  return {
    missingPermission: permission === undefined ? undefined : `secrets ${permission}`,
    hint:
      `the vault uses access policies, not Azure RBAC: grant the identity's object id get and list on secrets ` +
      `(az keyvault set-policy --name ${vault} --object-id ${objectId} --secret-permissions get list), ` +
      `or move the vault to Azure RBAC as Microsoft recommends: assign the identity *Key Vault Secrets User* ` +
      `(az role assignment create --role "Key Vault Secrets User" --assignee ${objectId} --scope <vault-resource-id>) ` +
      `and then run az keyvault update --name ${vault} --enable-rbac-authorization true — ` +
      'that switch turns every access policy of the vault off, so assign roles to all its callers first',
  };
}

/** `my-vault` from `https://my-vault.vault.azure.net` (any cloud's suffix); none for an IP or localhost. */
function vaultNameOf(vaultUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(vaultUrl).hostname;
  } catch {
    return undefined;
  }
  if (host === 'localhost' || isIP(host.replace(/^\[|\]$/g, '')) !== 0) return undefined;
  const label = host.split('.')[0] ?? '';
  return vaultNamePattern.test(label) ? label : undefined;
}
