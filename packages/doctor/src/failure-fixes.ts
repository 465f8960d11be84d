import { isIP } from 'node:net';
import type { DoctorFailure, DoctorResourceKind } from './doctor-report.js';
import type { ErrorDescription } from './error-description.js';

/**
 * Azure RBAC: "role assignment changes can take up to 10 minutes" to be detected, and longer where
 * tokens are cached (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected).
 * Managed-identity tokens are cached by the platform for hours, so a grant made after the token was
 * issued may need a new token (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/managed-identity-best-practice-recommendations#limitation-of-using-managed-identities-for-authorization).
 */
export const propagationNote =
  'a role or access-policy change can take up to 10 minutes to take effect (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected): if you assigned it just now, wait and run keyless doctor again before changing more';

/** What the doctor knows about the identity and the resource, to fill in the commands. */
export interface FixContext {
  resource: DoctorResourceKind;
  /** The identity's object (principal) id, from a token's `oid`. */
  objectId: string | undefined;
  /** The identity's name, from the token's `xms_mirid` (a user-assigned identity's resource name). */
  identityName: string | undefined;
  target: {
    vaultUrl?: string;
    secretName?: string;
    accountUrl?: string;
    container?: string;
    server?: string;
    port?: number;
    database?: string;
    host?: string;
    user?: string;
  };
  mode?: 'entra-token' | 'key-vault-secret';
  /** The configured identity, for messages ("user-assigned client-id …"). */
  selector: string;
}

/** The failure of a token request for the resource's scope: the identity endpoint's side. */
export function tokenFailure(error: ErrorDescription, context: FixContext, scope: string): DoctorFailure {
  const notes = hintNote(error);
  switch (error.code) {
    case 'authentication-failed':
      return {
        code: error.code,
        cause: `the identity endpoint refused a token for ${scope} to ${context.selector}: ${error.message}`,
        fix: [
          context.selector.startsWith('user-assigned')
            ? `check the id: it must belong to a user-assigned identity attached to this host — az identity list --query "[].{name:name, clientId:clientId, principalId:principalId}" --output table; attach it with az webapp identity assign --name <app> --resource-group <group> --identities <identity resource id> (az containerapp identity assign / az vm identity assign likewise), or fix AZURE_CLIENT_ID (KEYLESS_MANAGED_IDENTITY_RESOURCE_ID / _OBJECT_ID)`
            : 'turn the system-assigned identity on for this host (az webapp identity assign --name <app> --resource-group <group>), or set AZURE_CLIENT_ID to the client id of an attached user-assigned identity',
        ],
        notes,
      };
    case 'credential-unavailable':
      return {
        code: error.code,
        cause: error.message,
        fix: [
          error.hint ??
            'set IDENTITY_ENDPOINT and IDENTITY_HEADER (App Service), AZURE_FEDERATED_TOKEN_FILE (AKS), or run on an Azure VM; locally run keyless-local up and source .env',
        ],
        notes: [],
      };
    case 'timeout':
      return {
        code: error.code,
        cause: error.message,
        fix: ['check that the identity endpoint is reachable from here; raise --timeout if it is only slow'],
        notes,
      };
    default:
      return { code: error.code, cause: error.message, fix: error.hint ? [error.hint] : [], notes: [] };
  }
}

/** The failure of a resource's read-only probe, with the grant or setting that fixes it. */
export function probeFailure(error: ErrorDescription, context: FixContext): DoctorFailure {
  const connectorHint = hintNote(error);
  const oid = context.objectId ?? '<object-id>';
  const name = context.identityName ?? '<identity name>';
  // A password read from Key Vault that was refused is the vault's problem, whichever connector asked.
  const fromKeyVault =
    context.resource === 'keyvault' ||
    (context.mode === 'key-vault-secret' && /Key Vault Secrets User|set-policy/.test(error.hint ?? ''));
  if (error.code === 'authorization' && fromKeyVault) {
    const vault = vaultNameOf(context.target.vaultUrl);
    if (/access polic/i.test(error.hint ?? '')) {
      return {
        code: error.code,
        cause: error.message,
        fix: [`az keyvault set-policy --name ${vault} --object-id ${oid} --secret-permissions get list`],
        notes: [propagationNote, ...connectorHint],
      };
    }
    return {
      code: error.code,
      cause: error.message,
      fix: [
        `assign the role "Key Vault Secrets User" on the vault: az role assignment create --assignee-object-id ${oid} --assignee-principal-type ServicePrincipal --role "Key Vault Secrets User" --scope "$(az keyvault show --name ${vault} --query id --output tsv)"`,
      ],
      notes: [propagationNote, ...connectorHint],
    };
  }
  switch (context.resource) {
    case 'blob':
      if (error.code === 'authorization') {
        const account = storageAccountOf(context.target.accountUrl);
        const accountScope = `$(az storage account show --name ${account} --query id --output tsv)`;
        const scope = context.target.container
          ? `"${accountScope}/blobServices/default/containers/${context.target.container}"`
          : `"${accountScope}"`;
        return {
          code: error.code,
          cause: error.message,
          fix: [
            `assign the role "Storage Blob Data Reader" (read; "Storage Blob Data Contributor" to write as well) on ${context.target.container ? `the container ${context.target.container}` : 'the account'}: az role assignment create --assignee-object-id ${oid} --assignee-principal-type ServicePrincipal --role "Storage Blob Data Reader" --scope ${scope}`,
          ],
          notes: [propagationNote, ...connectorHint],
        };
      }
      break;
    case 'sql':
      if (error.code === 'authorization') {
        const server = context.target.server ?? '<server>.database.windows.net';
        const database = context.target.database ?? '<database>';
        const statements = `CREATE USER [${name}] FROM EXTERNAL PROVIDER; ALTER ROLE db_datareader ADD MEMBER [${name}];`;
        return {
          code: error.code,
          cause: error.message,
          fix: [
            `as the server's Entra admin, in the database ${database}: ${statements}`,
            `e.g. sqlcmd -S ${server} -d ${database} --authentication-method ActiveDirectoryDefault -Q "${statements}"`,
          ],
          notes: [
            `[${name}] is the identity's name in Entra ID (a user-assigned identity's resource name; for a system-assigned one, the app's name); db_datawriter too if the app writes`,
            ...connectorHint,
          ],
        };
      }
      break;
    case 'postgres':
      if (error.code === 'authentication-failed' && context.mode === 'entra-token') {
        const user = context.target.user ?? name;
        const notes = [...connectorHint];
        if (context.identityName && context.target.user && context.identityName !== context.target.user) {
          notes.unshift(
            `the role name ${context.target.user} differs from the identity's name ${context.identityName}: pgaadauth_create_principal binds a role named after the identity's display name`,
          );
        }
        return {
          code: error.code,
          cause: error.message,
          fix: [
            `as the server's Entra admin, in the database postgres: select * from pgaadauth_create_principal('${user}', false, false);`,
            `e.g. psql "host=${context.target.host ?? '<server>.postgres.database.azure.com'} port=${context.target.port ?? 5432} dbname=postgres user=<entra admin> sslmode=verify-full" -c "select * from pgaadauth_create_principal('${user}', false, false);" (password: az account get-access-token --resource-type oss-rdbms --query accessToken --output tsv)`,
            `then grant it what the app needs, e.g. GRANT CONNECT ON DATABASE ${context.target.database ?? '<database>'} TO "${user}";`,
          ],
          notes,
        };
      }
      if (error.code === 'authentication-failed') {
        return {
          code: error.code,
          cause: error.message,
          fix: [
            `store the current password of ${context.target.user ?? '<user>'} in the Key Vault secret ${context.target.secretName ?? '<secret>'}: az keyvault secret set --vault-name ${vaultNameOf(context.target.vaultUrl)} --name ${context.target.secretName ?? '<secret>'} --file <file holding the password>`,
          ],
          notes: connectorHint,
        };
      }
      break;
    case 'redis':
      if (error.code === 'authentication-failed' && context.mode === 'entra-token') {
        const host = context.target.host ?? '<cache>';
        // A cache is named by its host's first label; an address (the local stack) names none.
        const cache =
          isIP(host) !== 0 || host === 'localhost' ? '<cache>' : (host.split('.')[0] ?? '<cache>');
        const managed = /\.redis(enterprise)?\.azure\.net$|\.redis\.azure\.net$/i.test(host);
        const assignment = managed
          ? `az redisenterprise database access-policy-assignment create --cluster-name ${cache} --resource-group <group> --database-name default --access-policy-assignment-name ${name} --access-policy-name default --object-id ${oid}`
          : `az redis access-policy-assignment create --name ${cache} --resource-group <group> --policy-assignment-name ${name} --access-policy-name "Data Contributor" --object-id ${oid} --object-id-alias ${name}`;
        const notes = [propagationNote, ...connectorHint];
        if (context.objectId && context.target.user && context.target.user !== context.objectId) {
          notes.unshift(
            `the Redis user is ${context.target.user} but the identity's object id is ${context.objectId}: in Entra mode the user must be the object id (KEYLESS_REDIS_ENTRA_USER)`,
          );
        }
        return {
          code: error.code,
          cause: error.message,
          fix: [
            managed
              ? `give the identity the database's access policy: ${assignment}`
              : `turn Microsoft Entra authentication on for the cache and assign the identity a data access policy: ${assignment}`,
          ],
          notes,
        };
      }
      if (error.code === 'authentication-failed') {
        return {
          code: error.code,
          cause: error.message,
          fix: [
            `store the cache's current access key (or the ACL user's password) in the Key Vault secret ${context.target.secretName ?? '<secret>'}: az keyvault secret set --vault-name ${vaultNameOf(context.target.vaultUrl)} --name ${context.target.secretName ?? '<secret>'} --file <file holding it>`,
          ],
          notes: connectorHint,
        };
      }
      break;
    default:
      break;
  }
  if (error.code === 'timeout') {
    return {
      code: error.code,
      cause: error.message,
      fix: [
        'check that the service is reachable from here (DNS, firewall, private endpoint); raise --timeout if it is only slow',
      ],
      notes: connectorHint,
    };
  }
  return {
    code: error.code,
    cause: error.message,
    fix: error.hint ? [error.hint] : [],
    notes: error.code === 'authorization' ? [propagationNote] : [],
  };
}

/** keyless's own hint, as a note, unless the message already says it. */
function hintNote(error: ErrorDescription): string[] {
  return error.hint && !error.message.includes(error.hint) ? [`keyless: ${error.hint}`] : [];
}

/** `my-vault` from `https://my-vault.vault.azure.net`; `<vault>` for a URL without a vault name (the local stack). */
export function vaultNameOf(vaultUrl: string | undefined): string {
  try {
    const host = new URL(vaultUrl ?? '').hostname;
    if (/\.vault(core)?\./i.test(host)) return host.split('.')[0] as string;
  } catch {}
  return '<vault>';
}

/** `account` from `https://account.blob.core.windows.net`, or the path's first segment (Azurite's style). */
export function storageAccountOf(accountUrl: string | undefined): string {
  try {
    const url = new URL(accountUrl ?? '');
    if (/\.blob\./i.test(url.hostname)) return url.hostname.split('.')[0] as string;
    const first = url.pathname.split('/').find((segment) => segment !== '');
    if (first) return first;
  } catch {}
  return '<account>';
}

/** The last segment of an ARM resource id (`…/userAssignedIdentities/<name>`). */
export function identityNameOf(resourceId: string | undefined): string | undefined {
  if (!resourceId) return undefined;
  const name = resourceId
    .split('/')
    .filter((segment) => segment !== '')
    .pop();
  return name || undefined;
}
