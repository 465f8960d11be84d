import type { IdentityEndpoint } from '../../src/index.js';

export interface FetchedToken {
  token: string;
  expiresOnSeconds: number;
}

/** Asks the endpoint the way an App Service app does: a raw App Service protocol request. */
export async function fetchToken(
  endpoint: IdentityEndpoint,
  resource: string,
  selector: { clientId?: string } = {},
): Promise<FetchedToken> {
  const environment = endpoint.appServiceEnvironment();
  const url = new URL(environment.IDENTITY_ENDPOINT ?? '');
  url.searchParams.set('api-version', '2019-08-01');
  url.searchParams.set('resource', resource);
  if (selector.clientId) url.searchParams.set('client_id', selector.clientId);
  const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': environment.IDENTITY_HEADER ?? '' } });
  if (response.status !== 200) throw new Error(`token request answered ${response.status}`);
  const body = (await response.json()) as { access_token: string; expires_on: string };
  return { token: body.access_token, expiresOnSeconds: Number(body.expires_on) };
}

/** Waits until the token's `exp` has passed (it is whole seconds), so it is expired by any clock reading. */
export async function waitUntilExpired(token: FetchedToken): Promise<void> {
  const wait = token.expiresOnSeconds * 1000 + 100 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
