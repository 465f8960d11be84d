import { ManagedIdentityApplication, type ManagedIdentityIdParams } from '@azure/msal-node';
import { describe, expect, it } from 'vitest';
import {
  type ManagedIdentityProtocol,
  type ProtocolCase,
  protocolCases,
  useEndpointForProtocol,
} from './protocol-cases.js';

/**
 * @azure/msal-node ManagedIdentityApplication against the endpoint, unchanged.
 * MSAL picks the managed-identity source once per process from the environment at the first
 * request, so each protocol is its own test file.
 */
export function describeMsalNodeAgainstEndpoint(protocol: ManagedIdentityProtocol): void {
  const facts: ProtocolCase = protocolCases[protocol];
  const endpoint = useEndpointForProtocol(facts);

  function application(managedIdentityIdParams?: ManagedIdentityIdParams): ManagedIdentityApplication {
    return new ManagedIdentityApplication(managedIdentityIdParams ? { managedIdentityIdParams } : undefined);
  }

  describe(`@azure/msal-node ManagedIdentityApplication over the ${facts.title} protocol`, () => {
    it(`detects the ${facts.title} source from the environment`, () => {
      expect(application().getManagedIdentitySource()).toBe(facts.msalSource);
    });

    it.each([
      [
        'system-assigned',
        (): ManagedIdentityIdParams | undefined => undefined,
        () => endpoint().systemAssigned?.objectId,
      ],
      [
        'client id',
        (): ManagedIdentityIdParams => ({ userAssignedClientId: endpoint().userAssigned[0]?.clientId ?? '' }),
        () => endpoint().userAssigned[0]?.objectId,
      ],
      [
        'resource id',
        (): ManagedIdentityIdParams => ({
          userAssignedResourceId: endpoint().userAssigned[0]?.resourceId ?? '',
        }),
        () => endpoint().userAssigned[0]?.objectId,
      ],
      [
        'object id',
        (): ManagedIdentityIdParams => ({ userAssignedObjectId: endpoint().userAssigned[0]?.objectId ?? '' }),
        () => endpoint().userAssigned[0]?.objectId,
      ],
    ])('gets a token for the %s identity', async (_selector, identity, expectedObjectId) => {
      const requestsBefore = endpoint().counters.tokenRequests;
      const result = await application(identity()).acquireToken({ resource: 'https://storage.azure.com' });
      expect(result.fromCache).toBe(false);
      expect(endpoint().counters.tokenRequests).toBe(requestsBefore + 1);
      const claims = await endpoint().verifyToken(result.accessToken, {
        audience: 'https://storage.azure.com',
      });
      expect(claims.oid).toBe(expectedObjectId());
      // MSAL computes expiry as request start + (expires_on - now at parse): whole seconds, so it may
      // come out a second or so before the token's exp, never after.
      const expiresOnMilliseconds = result.expiresOn?.getTime() ?? 0;
      expect(expiresOnMilliseconds).toBeLessThanOrEqual(claims.exp * 1000);
      expect(expiresOnMilliseconds).toBeGreaterThanOrEqual((claims.exp - 5) * 1000);
    });

    it('retries a 429 by itself and then succeeds', async () => {
      endpoint().faults.throttle({ count: 1, retryAfterSeconds: 1 });
      const result = await application().acquireToken({ resource: 'https://vault.azure.net' });
      await endpoint().verifyToken(result.accessToken, { audience: 'https://vault.azure.net' });
      expect(endpoint().counters.byResource('https://vault.azure.net')).toBe(2);
      expect(endpoint().counters.byStatus(429)).toBe(1);
    });

    it("does not retry a 400 and throws ServerError with the status and the endpoint's error code", async () => {
      const error = await application({ userAssignedClientId: '0a1b2c3d-0000-4000-8000-00000000ffff' })
        .acquireToken({ resource: 'https://management.azure.com' })
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toMatchObject({
        name: 'ServerError',
        status: 400,
        errorCode: facts.unknownIdentity.errorCode,
      });
      expect((error as Error).message).toContain(facts.unknownIdentity.message);
      expect(endpoint().counters.byResource('https://management.azure.com')).toBe(1);
    });
  });
}
