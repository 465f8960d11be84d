import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenBackendName, TokenProvider, TokenProviderOptions } from '@keyless/core';
import { createTokenProviderWithInternals } from '@keyless/core/testing';
import {
  type IdentityEndpoint,
  type IdentityProtocol,
  type ManagedIdentityDefinition,
  startIdentityEndpoint,
} from '@keyless/local-azure';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useManagedIdentityEnvironment } from './managed-identity-environment.js';
import { findLeaks, renderEveryWay } from './output-capture.js';

export interface TokenProviderConformanceOptions {
  backend: TokenBackendName;
  /**
   * The host kind, by how it hands out tokens: `app-service` (App Service, Functions, Container
   * Apps), `imds` (VMs, scale sets) or `workload-identity` (AKS: a projected token exchanged at Entra).
   */
  protocol: IdentityProtocol;
}

const hostTitles: Record<IdentityProtocol, string> = {
  'app-service': 'App Service (the App Service protocol)',
  imds: 'a VM (the IMDS protocol)',
  'workload-identity': 'AKS (workload identity at the Entra endpoint)',
};

const storageScope = 'https://storage.azure.com/.default';
const storageResource = 'https://storage.azure.com';
const vaultScope = 'https://vault.azure.net/.default';

type IdentityCase = {
  label: string;
  identity: (endpoint: IdentityEndpoint) => TokenProviderOptions['identity'];
  expected: (endpoint: IdentityEndpoint) => ManagedIdentityDefinition;
  /** Where the case exists: workload identity names its identity by client id only, and has no system-assigned one. */
  protocols: readonly IdentityProtocol[];
};

const managedIdentityProtocols: readonly IdentityProtocol[] = ['app-service', 'imds'];
const everyProtocol: readonly IdentityProtocol[] = ['app-service', 'imds', 'workload-identity'];

const userAssigned = (endpoint: IdentityEndpoint) => endpoint.userAssigned[0] as ManagedIdentityDefinition;

const identityCases: IdentityCase[] = [
  {
    label: 'system-assigned',
    identity: () => 'system-assigned',
    expected: (endpoint) => endpoint.systemAssigned as ManagedIdentityDefinition,
    protocols: managedIdentityProtocols,
  },
  {
    label: 'user-assigned by client id',
    identity: (endpoint) => ({ clientId: userAssigned(endpoint).clientId }),
    expected: userAssigned,
    protocols: everyProtocol,
  },
  {
    label: 'user-assigned by resource id',
    identity: (endpoint) => ({ resourceId: userAssigned(endpoint).resourceId as string }),
    expected: userAssigned,
    protocols: managedIdentityProtocols,
  },
  {
    label: 'user-assigned by object id',
    identity: (endpoint) => ({ objectId: userAssigned(endpoint).objectId }),
    expected: userAssigned,
    protocols: managedIdentityProtocols,
  },
  {
    label: 'AZURE_CLIENT_ID (no identity option)',
    identity: () => undefined,
    expected: userAssigned,
    protocols: ['workload-identity'],
  },
];

/**
 * The endpoint for one host kind. AKS needs the Entra endpoint over HTTPS with the certificate the
 * test CA signed (global-setup.ts exports its paths; this worker trusts the CA), and a token file.
 */
async function startEndpointFor(
  protocol: IdentityProtocol,
): Promise<{ endpoint: IdentityEndpoint; cleanUp: () => Promise<void> }> {
  if (protocol !== 'workload-identity')
    return { endpoint: await startIdentityEndpoint(), cleanUp: async () => {} };
  const certificatePath = process.env.KEYLESS_TEST_SERVER_CERT;
  const keyPath = process.env.KEYLESS_TEST_SERVER_KEY;
  if (!certificatePath || !keyPath) {
    throw new Error(
      'KEYLESS_TEST_SERVER_CERT / KEYLESS_TEST_SERVER_KEY are not set: run through a vitest config with @keyless/testing/global-setup',
    );
  }
  const folder = await mkdtemp(join(tmpdir(), 'keyless-conformance-aks-'));
  const endpoint = await startIdentityEndpoint({
    workloadIdentity: {
      tls: { cert: readFileSync(certificatePath, 'utf8'), key: readFileSync(keyPath, 'utf8') },
      tokenFilePath: join(folder, 'azure-identity-token'),
    },
  });
  return { endpoint, cleanUp: () => rm(folder, { recursive: true, force: true }) };
}

/**
 * What every token backend must do against a real managed-identity endpoint over HTTP. One call
 * per backend × protocol, each in its own test file: MSAL pins the protocol per process.
 */
export function describeTokenProviderConformance({
  backend,
  protocol,
}: TokenProviderConformanceOptions): void {
  describe(`TokenProvider conformance: ${backend} on ${hostTitles[protocol]}`, () => {
    let endpoint: IdentityEndpoint;
    let restoreEnvironment: () => void;
    let cleanUp: () => Promise<void> = async () => {};
    const providers: TokenProvider[] = [];

    const provider = (options: TokenProviderOptions = {}, fast = false) => {
      const created = createTokenProviderWithInternals(
        { backend, ...options },
        // Real timers, shortened retry delays: the behaviour is the same, the test is quicker.
        fast ? { baseRetryDelayMs: 20 } : {},
      );
      providers.push(created);
      return created;
    };

    beforeAll(async () => {
      ({ endpoint, cleanUp } = await startEndpointFor(protocol));
      restoreEnvironment = useManagedIdentityEnvironment(endpoint, protocol);
    });

    afterEach(async () => {
      endpoint.faults.clear();
      await Promise.all(providers.splice(0).map((created) => created.close()));
    });

    afterAll(async () => {
      restoreEnvironment?.();
      await endpoint?.stop();
      await cleanUp();
    });

    for (const identityCase of identityCases.filter((candidate) => candidate.protocols.includes(protocol))) {
      it(`gets a verifiable token for the ${identityCase.label} identity`, async () => {
        const identity = identityCase.identity(endpoint);
        const tokens = provider(identity === undefined ? {} : { identity });
        expect(tokens.backend).toBe(backend);
        const token = await tokens.getToken(storageScope);
        const claims = await endpoint.verifyToken(token.token, { audience: storageResource });
        const expected = identityCase.expected(endpoint);
        expect(claims.oid).toBe(expected.objectId);
        expect(claims.appid).toBe(expected.clientId);
        expect(claims.xms_mirid).toBe(expected.resourceId);
        expect(token.tokenType).toBe('Bearer');
        expect(Math.abs(token.expiresOnTimestamp - claims.exp * 1000)).toBeLessThanOrEqual(1000);
        expect(token.refreshAfterTimestamp).toBeLessThan(token.expiresOnTimestamp);
      });
    }

    it('causes exactly one endpoint request for 1,000 concurrent cold callers, and none when warm', async () => {
      // A resource no earlier test asked for: azure-identity keeps MSAL's process-wide cache.
      const resource = 'https://burst.example';
      const tokens = provider();
      const results = await Promise.all(
        Array.from({ length: 1000 }, () => tokens.getToken(`${resource}/.default`)),
      );
      expect(endpoint.counters.byResource(resource)).toBe(1);
      expect(new Set(results.map((result) => result.token)).size).toBe(1);
      await Promise.all(Array.from({ length: 1000 }, () => tokens.getToken(`${resource}/.default`)));
      expect(endpoint.counters.byResource(resource)).toBe(1);
    });

    it('refreshes a short-lived token in the background while callers keep getting the valid one', async () => {
      endpoint.setTokenLifetime(4);
      try {
        const tokens = provider();
        const refreshed = new Promise<number>((resolve) => tokens.on('refreshed', () => resolve(Date.now())));
        const first = await tokens.getToken(vaultScope);
        // 4 s lifetime → served 3 s → refreshed after about 1.5 s (up to a tenth sooner), by the timer alone.
        const refreshedAt = await refreshed;
        // The refresh came from the timer the first token announced, not before it (a timer never
        // fires early; the tolerance covers the rounding of refreshAfterTimestamp).
        expect(refreshedAt).toBeGreaterThanOrEqual(first.refreshAfterTimestamp - 5);
        const second = await tokens.getToken(vaultScope);
        expect(second.token).not.toBe(first.token);
        // Whole seconds: a token minted within the same second may share the first one's expiry.
        expect(second.expiresOnTimestamp).toBeGreaterThanOrEqual(first.expiresOnTimestamp);
        await endpoint.verifyToken(second.token, { audience: 'https://vault.azure.net' });
      } finally {
        endpoint.setTokenLifetime(86_400);
      }
    });

    it('keeps serving the cached token through an endpoint outage', async () => {
      const tokens = provider({}, true);
      const cached = await tokens.getToken('https://database.windows.net/.default');
      endpoint.faults.outage();
      const during = await tokens.getToken('https://database.windows.net/.default');
      expect(during.token).toBe(cached.token);
    });

    it('reports an outage with no cached token as unavailable after retrying', async () => {
      const tokens = provider({}, true);
      endpoint.faults.outage();
      const before = endpoint.counters.tokenRequests;
      const error = await tokens
        .getToken('https://outage.example/.default')
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'unavailable', retryable: true });
      expect(endpoint.counters.tokenRequests - before).toBeGreaterThanOrEqual(2);
    });

    it('waits out a 429 as Retry-After says, then succeeds with no error to the caller', async () => {
      const tokens = provider({}, true);
      const throttled: number[] = [];
      tokens.on('throttled', (event) => throttled.push(event.retryAfterMs));
      endpoint.faults.throttle({ count: 1, retryAfterSeconds: 1 });
      const before = endpoint.counters.byStatus(429);
      const token = await tokens.getToken('https://throttled.example/.default');
      expect(token.token.length).toBeGreaterThan(0);
      expect(endpoint.counters.byStatus(429) - before).toBe(1);
      expect(throttled[0]).toBeGreaterThanOrEqual(1000);
    });

    it('does not retry a 403 and says it was refused', async () => {
      const tokens = provider({}, true);
      endpoint.faults.failWith(403);
      const before = endpoint.counters.tokenRequests;
      const error = await tokens
        .getToken('https://forbidden.example/.default')
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'authentication-failed', status: 403, retryable: false });
      expect(endpoint.counters.tokenRequests - before).toBe(1);
    });

    it('refuses an identity the endpoint does not know, with a hint, and no retries', async () => {
      const tokens = provider({ identity: { clientId: '99999999-9999-4999-8999-999999999999' } }, true);
      const before = endpoint.counters.tokenRequests;
      const error = await tokens.getToken(storageScope).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'authentication-failed', retryable: false });
      expect((error as Error).message).toContain(backend);
      expect(endpoint.counters.tokenRequests - before).toBe(1);
    });

    it('retries a 500 and recovers', async () => {
      const tokens = provider({}, true);
      endpoint.faults.failWith(500, { count: 2 });
      const failures: string[] = [];
      tokens.on('refresh-failed', (event) => failures.push(event.error.code));
      const token = await tokens.getToken('https://flaky.example/.default');
      expect(token.tokenType).toBe('Bearer');
      expect(failures).toEqual(['unavailable', 'unavailable']);
    });

    if (protocol === 'workload-identity') {
      it('picks up a rotated token file at the next token request, without a restart', async () => {
        const workload = endpoint.workloadIdentity;
        if (!workload) throw new Error('the endpoint has no workload identity');
        const clientId = userAssigned(endpoint).clientId;
        const tokens = provider();
        await tokens.getToken('https://before-rotation.example/.default');
        // The rotated file holds a token only a new federated credential accepts: a backend still
        // sending the old file's content would be refused with AADSTS70021.
        const [original] = workload.federatedCredentials(clientId);
        if (!original) throw new Error('the app identity has no federated credential');
        workload.removeFederatedCredential(clientId, original.name);
        workload.addFederatedCredential(clientId, {
          name: 'rotated',
          issuer: workload.clusterIssuer,
          subject: 'system:serviceaccount:default:rotated',
        });
        try {
          await writeFile(
            workload.tokenFilePath,
            await workload.serviceAccountToken({ serviceAccount: 'rotated' }),
          );
          const after = await tokens.getToken('https://after-rotation.example/.default');
          const claims = await endpoint.verifyToken(after.token, {
            audience: 'https://after-rotation.example',
          });
          expect(claims.appid).toBe(clientId);
        } finally {
          workload.removeFederatedCredential(clientId, 'rotated');
          workload.addFederatedCredential(clientId, original);
          await workload.rotateTokenFile();
        }
      });

      it('reports a wrong subject as authentication-failed with the AADSTS code and the fix, never the assertion', async () => {
        const workload = endpoint.workloadIdentity;
        if (!workload) throw new Error('the endpoint has no workload identity');
        const assertion = await workload.serviceAccountToken({ namespace: 'elsewhere' });
        await writeFile(workload.tokenFilePath, assertion);
        try {
          const tokens = provider({}, true);
          const before = endpoint.counters.tokenRequests;
          const error = await tokens
            .getToken('https://wrong-subject.example/.default')
            .catch((caught: unknown) => caught);
          expect(error).toMatchObject({ code: 'authentication-failed', retryable: false });
          const text = renderEveryWay(error).join('\n');
          expect(text).toContain('AADSTS70021');
          expect(text).toContain('system:serviceaccount:elsewhere:keyless-app');
          expect(findLeaks(text, [assertion])).toEqual([]);
          expect(endpoint.counters.tokenRequests - before).toBe(1);
        } finally {
          await workload.rotateTokenFile();
        }
      });
    }

    it('never shows a token in errors, events or inspected objects', async () => {
      const tokens = provider({}, true);
      const seen: unknown[] = [];
      for (const name of ['acquired', 'refreshed', 'refresh-failed', 'throttled'] as const) {
        tokens.on(name, (event) => seen.push(event));
      }
      const token = await tokens.getToken('https://canary.example/.default');
      endpoint.faults.failWith(403);
      const error = await tokens
        .getToken('https://canary-refused.example/.default')
        .catch((caught: unknown) => caught);
      const printed = [token, tokens, error, ...seen].flatMap(renderEveryWay).join('\n');
      expect(findLeaks(printed, endpoint.issuedTokens())).toEqual([]);
      expect(printed).toContain('[REDACTED]');
    });
  });
}
