import type { IdentityRegistry } from '../identity/identity-registry.js';
import type { ManagedIdentityDefinition } from '../identity/identity-types.js';
import { type AssertionContext, checkClientAssertion } from './client-assertion.js';
import { type EntraRefusal, refusals } from './entra-errors.js';

export const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type EntraTokenOutcome =
  | { kind: 'issue'; identity: ManagedIdentityDefinition; resource: string }
  | { kind: 'refuse'; refusal: EntraRefusal };

/** `/{tenant}/oauth2/v2.0/token` (v2) and `/{tenant}/oauth2/token` (v1, which takes `resource`). */
export function tokenPathTenant(normalizedPath: string): { tenant: string; version: 1 | 2 } | undefined {
  const match = /^\/([^/]+)\/oauth2(\/v2\.0)?\/token$/.exec(normalizedPath);
  if (!match) return undefined;
  return { tenant: decodeURIComponent(match[1] as string), version: match[2] ? 2 : 1 };
}

/**
 * The client-credentials grant with a federated client assertion, as workload identity sends it
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential):
 * `client_id`, `scope` (one resource's `/.default`), `client_assertion_type` jwt-bearer,
 * `client_assertion` and `grant_type=client_credentials`, form-encoded in a POST. The identity is
 * the user-assigned managed identity whose client id is `client_id` (workload identity federates
 * user-assigned identities and app registrations; the emulator models the former).
 */
export async function evaluateEntraTokenRequest(
  form: URLSearchParams,
  path: { tenant: string; version: 1 | 2 },
  tenantId: string,
  registry: IdentityRegistry,
  assertionContext: AssertionContext,
): Promise<EntraTokenOutcome> {
  const refuse = (refusal: EntraRefusal): EntraTokenOutcome => ({ kind: 'refuse', refusal });
  if (path.tenant.toLowerCase() !== tenantId.toLowerCase())
    return refuse(refusals.tenantNotFound(path.tenant));
  const grantType = form.get('grant_type');
  if (!grantType) return refuse(refusals.missingParameter('grant_type'));
  if (grantType !== 'client_credentials') return refuse(refusals.unsupportedGrantType());
  const clientId = form.get('client_id');
  if (!clientId) return refuse(refusals.missingParameter('client_id'));
  const resource = requestedResource(form, path.version);
  if (typeof resource !== 'string') return refuse(resource);
  const lookup = registry.lookup(
    { kind: 'client-id', value: clientId },
    { defaultToSingleUserAssigned: false },
  );
  if (!lookup.found) return refuse(refusals.unknownClient(clientId, tenantId));
  const assertion = form.get('client_assertion');
  if (!assertion) return refuse(refusals.missingAssertion());
  if (form.get('client_assertion_type') !== jwtBearerAssertionType)
    return refuse(refusals.wrongAssertionType());
  const refusal = await checkClientAssertion(assertion, clientId, assertionContext);
  if (refusal) return refuse(refusal);
  return { kind: 'issue', identity: lookup.identity, resource };
}

/** v2 names one `<resource>/.default` scope (OIDC scopes such as `openid` may ride along); v1 a `resource`. */
function requestedResource(form: URLSearchParams, version: 1 | 2): string | EntraRefusal {
  if (version === 1) {
    const resource = form.get('resource');
    return resource ? resource : refusals.missingParameter('resource');
  }
  const scope = form.get('scope');
  if (!scope) return refusals.missingParameter('scope');
  const resourceScopes = scope
    .split(' ')
    .filter((entry) => entry !== '' && !['openid', 'profile', 'offline_access', 'email'].includes(entry));
  const [only, ...others] = resourceScopes;
  if (only === undefined || others.length > 0 || !only.endsWith('/.default'))
    return refusals.invalidScope(scope);
  return only.slice(0, -'/.default'.length);
}
