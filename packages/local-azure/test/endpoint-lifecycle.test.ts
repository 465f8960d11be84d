import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { type IssuedTokenEvent, startIdentityEndpoint } from '../src/index.js';
import { getJson, imdsHeaders, imdsUrl, storageResource } from './support/token-requests.js';

const runFile = promisify(execFile);

describe('stop()', () => {
  it('lets the process exit: no server, keep-alive socket or latency timer left behind', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/stop-then-exit.mjs', import.meta.url));
    // If anything kept the event loop alive the child would hang and the timeout would kill it.
    const { stdout } = await runFile(process.execPath, [fixture], { timeout: 20_000 });
    expect(stdout).toContain('stopped; pending request: connection closed');
  });

  it('is idempotent and refuses connections afterwards', async () => {
    const endpoint = await startIdentityEndpoint();
    await Promise.all([endpoint.stop(), endpoint.stop()]);
    await endpoint.stop();
    await expect(fetch(endpoint.jwksUrl)).rejects.toThrow();
  });
});

describe('options', () => {
  it('refuses a host that is not loopback, naming the rule', async () => {
    await expect(startIdentityEndpoint({ host: '0.0.0.0' })).rejects.toThrow(/not a loopback address/);
    await expect(startIdentityEndpoint({ host: '192.168.1.10' })).rejects.toThrow(/not a loopback address/);
  });

  it('listens on IPv6 loopback and brackets the host in its URL', async () => {
    const endpoint = await startIdentityEndpoint({ host: '::1' });
    try {
      expect(endpoint.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expect((await getJson(endpoint.jwksUrl)).status).toBe(200);
    } finally {
      await endpoint.stop();
    }
  });

  it('refuses malformed identities, tenant and lifetime with errors that name the option', async () => {
    await expect(startIdentityEndpoint({ tenantId: 'contoso' })).rejects.toThrow(/tenantId must be a GUID/);
    await expect(startIdentityEndpoint({ tokenLifetimeSeconds: 0 })).rejects.toThrow(/token lifetime/);
    await expect(
      startIdentityEndpoint({ userAssigned: [{ name: 'x', clientId: 'not-a-guid', objectId: 'also-not' }] }),
    ).rejects.toThrow(/clientId must be a GUID/);
    await expect(
      startIdentityEndpoint({
        systemAssigned: false,
        userAssigned: [
          {
            name: 'a',
            clientId: '0a1b2c3d-0000-4000-8000-00000000d001',
            objectId: '0a1b2c3d-0000-4000-8000-00000000d002',
          },
          {
            name: 'b',
            clientId: '0a1b2c3d-0000-4000-8000-00000000d001',
            objectId: '0a1b2c3d-0000-4000-8000-00000000d003',
          },
        ],
      }),
    ).rejects.toThrow(/already used by identity 'a'/);
  });

  it('gives the environment both SDKs read', async () => {
    const endpoint = await startIdentityEndpoint({ identityHeader: 'local-secret' });
    try {
      expect(endpoint.appServiceEnvironment()).toEqual({
        IDENTITY_ENDPOINT: `${endpoint.url}/msi/token`,
        IDENTITY_HEADER: 'local-secret',
      });
      expect(endpoint.imdsEnvironment()).toEqual({ AZURE_POD_IDENTITY_AUTHORITY_HOST: endpoint.url });
      expect(endpoint.url.endsWith('/')).toBe(false);
    } finally {
      await endpoint.stop();
    }
  });
});

describe('tokens', () => {
  it('records minted tokens, awaits listeners before answering, and keeps the token out of the event’s printout', async () => {
    const endpoint = await startIdentityEndpoint();
    const events: IssuedTokenEvent[] = [];
    let listenerFinished = false;
    const unsubscribe = endpoint.onTokenIssued(async (event) => {
      events.push(event);
      await new Promise((resolve) => setTimeout(resolve, 20));
      listenerFinished = true;
    });
    try {
      const answer = await getJson(
        imdsUrl(endpoint, { 'api-version': '2018-02-01', resource: storageResource }),
        imdsHeaders,
      );
      expect(listenerFinished).toBe(true);
      const [event] = events;
      const token: string = answer.body.access_token;
      expect(event?.token === token).toBe(true);
      expect(event).toMatchObject({
        resource: storageResource,
        protocol: 'imds',
        identity: endpoint.systemAssigned,
      });
      expect(event?.expiresOnSeconds).toBe(Number(answer.body.expires_on));
      expect(JSON.stringify(event).includes(token)).toBe(false);
      expect(inspect(event, { depth: 5 }).includes(token)).toBe(false);
      expect(endpoint.issuedTokens().includes(token)).toBe(true);

      unsubscribe();
      await getJson(
        imdsUrl(endpoint, { 'api-version': '2018-02-01', resource: storageResource }),
        imdsHeaders,
      );
      expect(events).toHaveLength(1);
      expect(endpoint.issuedTokens()).toHaveLength(2);
    } finally {
      await endpoint.stop();
    }
  });

  it('still answers when a listener throws, and reports the failure as a process warning', async () => {
    const endpoint = await startIdentityEndpoint();
    endpoint.onTokenIssued(() => {
      throw new Error('listener broke');
    });
    // Replaced rather than observed, so the warning does not clutter the test output.
    const emitWarning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const answer = await getJson(
        imdsUrl(endpoint, { 'api-version': '2018-02-01', resource: storageResource }),
        imdsHeaders,
      );
      expect(answer.status).toBe(200);
      expect(emitWarning).toHaveBeenCalledWith(
        expect.stringContaining('listener broke'),
        expect.objectContaining({ code: 'KEYLESS_TOKEN_LISTENER_FAILED' }),
      );
    } finally {
      emitWarning.mockRestore();
      await endpoint.stop();
    }
  });

  it('changes the lifetime of new tokens live, using the injected clock', async () => {
    const fixedNow = Date.UTC(2030, 0, 1);
    const endpoint = await startIdentityEndpoint({ now: () => fixedNow });
    try {
      endpoint.setTokenLifetime(600);
      const answer = await getJson(
        imdsUrl(endpoint, { 'api-version': '2018-02-01', resource: storageResource }),
        imdsHeaders,
      );
      const claims = await endpoint.verifyToken(answer.body.access_token, { audience: storageResource });
      expect(claims.iat).toBe(fixedNow / 1000);
      expect(claims.nbf).toBe(fixedNow / 1000);
      expect(claims.exp).toBe(fixedNow / 1000 + 600);
      expect(answer.body.expires_in).toBe('600');
      expect(() => endpoint.setTokenLifetime(1.5)).toThrow(RangeError);
    } finally {
      await endpoint.stop();
    }
  });

  it('serves identities added while running', async () => {
    const endpoint = await startIdentityEndpoint();
    try {
      endpoint.addUserAssignedIdentity({
        name: 'late-joiner',
        clientId: '0a1b2c3d-0000-4000-8000-00000000e001',
        objectId: '0a1b2c3d-0000-4000-8000-00000000e002',
      });
      const added = endpoint.userAssigned.find((identity) => identity.name === 'late-joiner');
      expect(added?.resourceId).toMatch(
        /\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/late-joiner$/,
      );
      const answer = await getJson(
        imdsUrl(endpoint, {
          'api-version': '2018-02-01',
          resource: storageResource,
          msi_res_id: added?.resourceId ?? '',
        }),
        imdsHeaders,
      );
      expect(answer.body.client_id).toBe('0a1b2c3d-0000-4000-8000-00000000e001');
    } finally {
      await endpoint.stop();
    }
  });

  it('signs with a given key so tokens survive a restart', async () => {
    const { exportJWK, generateKeyPair } = await import('jose');
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const signingKey = await exportJWK(privateKey);
    const first = await startIdentityEndpoint({ signingKey });
    const answer = await getJson(
      imdsUrl(first, { 'api-version': '2018-02-01', resource: storageResource }),
      imdsHeaders,
    );
    await first.stop();
    const second = await startIdentityEndpoint({ signingKey });
    try {
      expect(second.jwks()).toEqual(first.jwks());
      const claims = await second.verifyToken(answer.body.access_token, { audience: storageResource });
      expect(claims.aud).toBe(storageResource);
    } finally {
      await second.stop();
    }
  });
});
