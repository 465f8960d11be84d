import type { JWK } from 'jose';

export const jwksPath = '/.well-known/jwks.json';

export interface DiscoveryContext {
  url: string;
  tenantId: string;
  issuer: string;
  publicKeys: () => { keys: JWK[] };
}

/**
 * Key and metadata documents, so an emulator in another process can verify tokens from the
 * endpoint's URL alone. Besides our own path, Entra's tenant-scoped paths are served too.
 * Returns undefined for any other path.
 */
export function discoveryDocument(normalizedPath: string, context: DiscoveryContext): object | undefined {
  const tenant = `/${context.tenantId.toLowerCase()}`;
  switch (normalizedPath) {
    case jwksPath:
    case `${tenant}/discovery/keys`:
    case `${tenant}/discovery/v2.0/keys`:
      return context.publicKeys();
    case '/.well-known/openid-configuration':
    case `${tenant}/.well-known/openid-configuration`:
      return {
        issuer: context.issuer,
        jwks_uri: `${context.url}${jwksPath}`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: [],
        response_types_supported: [],
        subject_types_supported: ['pairwise'],
        tenant_region_scope: 'LOCAL',
      };
    default:
      return undefined;
  }
}
