import type { IdentityEndpoint, ManagedIdentityDefinition } from './identity-types.js';

/**
 * A token from the endpoint over its own App Service protocol, for the stack's seeding steps:
 * the stack authenticates to its emulators exactly as an application would.
 */
export async function mintTokenOverHttp(
  endpoint: IdentityEndpoint,
  identity: ManagedIdentityDefinition,
  resource: string,
): Promise<string> {
  const environment = endpoint.appServiceEnvironment();
  const url = new URL(environment.IDENTITY_ENDPOINT as string);
  url.searchParams.set('api-version', '2019-08-01');
  url.searchParams.set('resource', resource);
  url.searchParams.set('client_id', identity.clientId);
  const response = await fetch(url, {
    headers: { 'X-IDENTITY-HEADER': environment.IDENTITY_HEADER as string },
  });
  if (!response.ok)
    throw new Error(`the identity endpoint refused a token for ${resource}: ${response.status}`);
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`the identity endpoint sent no token for ${resource}`);
  return body.access_token;
}
