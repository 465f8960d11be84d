import type { JWK } from 'jose';

export interface EntraDocumentContext {
  /** `https://127.0.0.1:<port>`: the authority host. */
  authorityHost: string;
  tenantId: string;
  publicKeys: () => { keys: JWK[] };
}

/**
 * The tenant's OpenID Connect metadata under the authority host, shaped like Entra's
 * (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri):
 * MSAL reads `token_endpoint` from it and checks that `issuer` has the authority's scheme and host,
 * so the issuer is `<authority host>/<tenant>/v2.0` here where Azure has
 * `https://login.microsoftonline.com/<tenant>/v2.0`. Access tokens keep the v1 issuer
 * `https://sts.windows.net/<tenant>/` every emulator checks, as Entra's do for v1 resources.
 * Returns undefined for any other path.
 */
export function entraDocument(normalizedPath: string, context: EntraDocumentContext): object | undefined {
  const tenant = context.tenantId.toLowerCase();
  const base = `${context.authorityHost}/${context.tenantId}`;
  switch (normalizedPath) {
    case `/${tenant}/v2.0/.well-known/openid-configuration`:
      return openIdConfiguration(`${base}/v2.0`, `${base}/oauth2/v2.0`, `${base}/discovery/v2.0/keys`);
    case `/${tenant}/.well-known/openid-configuration`:
      return openIdConfiguration(
        `https://sts.windows.net/${context.tenantId}/`,
        `${base}/oauth2`,
        `${base}/discovery/keys`,
      );
    case `/${tenant}/discovery/v2.0/keys`:
    case `/${tenant}/discovery/keys`:
    case '/common/discovery/keys':
      return context.publicKeys();
    default:
      return undefined;
  }
}

function openIdConfiguration(issuer: string, oauthBase: string, jwksUri: string): object {
  return {
    token_endpoint: `${oauthBase}/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: jwksUri,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${oauthBase}/authorize`,
    device_authorization_endpoint: `${oauthBase}/devicecode`,
    end_session_endpoint: `${oauthBase}/logout`,
    tenant_region_scope: 'LOCAL',
    cloud_instance_name: 'keyless.local',
  };
}
