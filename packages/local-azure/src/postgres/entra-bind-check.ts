import type { IdentityEndpoint } from '../identity/identity-types.js';
import type { BindCheck } from './ldap-bind-responder.js';
import { postgresEntraResources } from './postgres-types.js';

/** What pg_hba.conf puts around the role name, and what we strip again. */
export const ldapPrefix = 'cn=';
export const ldapSuffix = ',dc=keyless';

/**
 * Accepts a bind when the password is a token the identity endpoint signed for PostgreSQL's
 * audience, still within its lifetime, whose `oid` is the object id mapped to the role: so every
 * unexpired token works and an expired one does not, whichever generation the client holds.
 */
export function createEntraBindCheck(
  identity: Pick<IdentityEndpoint, 'verifyToken'>,
  objectIdOfRole: (roleName: string) => string | undefined,
): BindCheck {
  return async (distinguishedName, password) => {
    if (!distinguishedName.startsWith(ldapPrefix) || !distinguishedName.endsWith(ldapSuffix)) return false;
    const roleName = distinguishedName.slice(ldapPrefix.length, -ldapSuffix.length);
    const objectId = objectIdOfRole(roleName);
    if (!objectId || password === '') return false;
    const claims = await identity.verifyToken(password, { audience: [...postgresEntraResources] });
    return claims.oid === objectId;
  };
}
