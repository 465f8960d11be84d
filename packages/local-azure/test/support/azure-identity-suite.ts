import { ManagedIdentityCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import {
  type ManagedIdentityProtocol,
  type ProtocolCase,
  protocolCases,
  useEndpointForProtocol,
} from './protocol-cases.js';

/**
 * @azure/identity ManagedIdentityCredential against the endpoint, unchanged.
 * MSAL picks the managed-identity source once per process from the environment at the first
 * request, so each protocol is its own test file.
 */
export function describeAzureIdentityAgainstEndpoint(protocol: ManagedIdentityProtocol): void {
  const facts: ProtocolCase = protocolCases[protocol];
  const endpoint = useEndpointForProtocol(facts);

  describe(`@azure/identity ManagedIdentityCredential over the ${facts.title} protocol`, () => {
    it.each([
      ['system-assigned', () => ({}), () => endpoint().systemAssigned?.objectId],
      [
        'client id',
        () => ({ clientId: endpoint().userAssigned[0]?.clientId }),
        () => endpoint().userAssigned[0]?.objectId,
      ],
      [
        'resource id',
        () => ({ resourceId: endpoint().userAssigned[0]?.resourceId }),
        () => endpoint().userAssigned[0]?.objectId,
      ],
      [
        'object id',
        () => ({ objectId: endpoint().userAssigned[0]?.objectId }),
        () => endpoint().userAssigned[0]?.objectId,
      ],
    ])('gets a token for the %s identity', async (_selector, options, expectedObjectId) => {
      const requestsBefore = endpoint().counters.tokenRequests;
      const accessToken = await new ManagedIdentityCredential(options()).getToken(
        'https://storage.azure.com/.default',
      );
      expect(endpoint().counters.tokenRequests).toBe(requestsBefore + 1);
      const claims = await endpoint().verifyToken(accessToken.token, {
        audience: 'https://storage.azure.com',
      });
      expect(claims.oid).toBe(expectedObjectId());
      // MSAL computes expiry as request start + (expires_on - now at parse): whole seconds, so it may
      // come out a second or so before the token's exp, never after.
      const expiresOnMilliseconds = accessToken.expiresOnTimestamp;
      expect(expiresOnMilliseconds).toBeLessThanOrEqual(claims.exp * 1000);
      expect(expiresOnMilliseconds).toBeGreaterThanOrEqual((claims.exp - 5) * 1000);
      expect(accessToken.tokenType).toBe('Bearer');
    });

    it('honours Retry-After on 429 and then succeeds', async () => {
      endpoint().faults.throttle({ count: 1, retryAfterSeconds: 1 });
      const accessToken = await new ManagedIdentityCredential().getToken('https://vault.azure.net/.default');
      await endpoint().verifyToken(accessToken.token, { audience: 'https://vault.azure.net' });
      expect(endpoint().counters.byResource('https://vault.azure.net')).toBe(2);
      expect(endpoint().counters.byStatus(429)).toBe(1);
    });

    it('does not retry a 400 and reports it as CredentialUnavailableError caused by MSAL’s ServerError', async () => {
      const unknownClientId = '0a1b2c3d-0000-4000-8000-00000000ffff';
      const error = await new ManagedIdentityCredential({ clientId: unknownClientId })
        .getToken('https://management.azure.com/.default')
        .then(
          () => undefined,
          (caught: unknown) =>
            caught as Error & { cause?: { name?: string; status?: number; errorCode?: string } },
        );
      expect(error?.name).toBe('CredentialUnavailableError');
      expect(error?.message).toContain(facts.unknownIdentity.message);
      expect(error?.cause).toMatchObject({
        name: 'ServerError',
        status: 400,
        errorCode: facts.unknownIdentity.errorCode,
      });
      expect(endpoint().counters.byResource('https://management.azure.com')).toBe(1);
    });
  });
}
