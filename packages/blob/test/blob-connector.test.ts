import { inspect } from 'node:util';
import { RestError } from '@azure/storage-blob';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  createTokenProvider,
  type TokenProvider,
} from '@keyless/core';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { catchError, findLeaks, renderEveryWay, useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BlobConnector, createBlobConnector } from '../src/index.js';

const accountVariable = 'KEYLESS_BLOB_ACCOUNT_URL';

describe('createBlobConnector', () => {
  let stack: LocalAzure;
  let accountUrl: string;
  let restoreEnvironment: () => void;
  let sharedProvider: TokenProvider;
  const connectors: BlobConnector[] = [];

  /** Every connector a test makes is closed after it, even when an assertion fails. */
  const track = (connector: BlobConnector) => {
    connectors.push(connector);
    return connector;
  };

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['blob'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
    accountUrl = stack.env[accountVariable] as string;
    // What an app on App Service sees, plus the user-assigned identity keyless-local prints.
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    process.env.AZURE_CLIENT_ID = stack.env.AZURE_CLIENT_ID;
    sharedProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  });

  afterEach(async () => {
    delete process.env[accountVariable];
    for (const connector of connectors.splice(0)) await connector.close();
  });

  afterAll(async () => {
    await sharedProvider?.close();
    restoreEnvironment?.();
    await stack?.stop();
  });

  // Which settings are read, from where, and which TLS-weakening options are refused: the
  // configuration group in test/conformance.test.ts.
  describe('configuration', () => {
    it('refuses a SAS URL without echoing it', () => {
      const signature = 'sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D';
      const error = catchError(() =>
        createBlobConnector({
          accountUrl: `https://myaccount.blob.core.windows.net/?sv=2022-11-02&${signature}`,
          tokenProvider: sharedProvider,
        }),
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(findLeaks(renderEveryWay(error).join('\n'), [signature])).toEqual([]);
    });

    it('refuses a token passed where the provider belongs without echoing it (the SDK would have sent requests anonymously)', async () => {
      const { token } = await sharedProvider.getToken('https://storage.azure.com/.default');
      const error = catchError(() =>
        createBlobConnector({ accountUrl, tokenProvider: token as unknown as TokenProvider }),
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain('`tokenProvider`');
      expect((error as Error).message).toContain('got a string');
      expect(findLeaks(renderEveryWay(error).join('\n'), [token]).length).toBe(0);
    });
  });

  describe('against the local stack (Azurite behind its verifying front)', () => {
    it('reads the account URL from KEYLESS_BLOB_ACCOUNT_URL', async () => {
      process.env[accountVariable] = accountUrl;
      const connector = track(createBlobConnector({ tokenProvider: sharedProvider }));
      const text = await connector.run(async (client) =>
        (
          await client.getContainerClient('keyless-demo').getBlobClient('hello.txt').downloadToBuffer()
        ).toString('utf8'),
      );
      expect(text).toContain('keyless local stack');
    });

    it('uploads, downloads and lists through containerClient()', async () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      const container = connector.containerClient('connector-test');
      await container.createIfNotExists();
      const body = 'written by @keyless/blob';
      await container.getBlockBlobClient('notes/first.txt').upload(body, Buffer.byteLength(body));
      const downloaded = await container.getBlobClient('notes/first.txt').downloadToBuffer();
      expect(downloaded.toString('utf8')).toBe(body);
      const names: string[] = [];
      for await (const blob of container.listBlobsFlat({ prefix: 'notes/' })) names.push(blob.name);
      expect(names).toEqual(['notes/first.txt']);
    });

    it('creates the client once, on first access', () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      expect(connector.client).toBe(connector.client);
    });

    it('builds its provider from the environment when none is passed', async () => {
      // AZURE_CLIENT_ID and IDENTITY_ENDPOINT/IDENTITY_HEADER come from beforeAll, as on App Service.
      const connector = track(createBlobConnector({ accountUrl }));
      const properties = await connector.run((client) =>
        client.getContainerClient('keyless-demo').getProperties(),
      );
      expect(properties.etag).toBeTruthy();
      expect(JSON.parse(JSON.stringify(connector))).toEqual({ accountUrl, backend: 'azure-identity' });
      await connector.close();
      await expect(connector.run(async () => 'never')).rejects.toMatchObject({ code: 'closed' });
    });

    it('builds its provider with the backend KEYLESS_TOKEN_PROVIDER names, and says so in its view', () => {
      process.env.KEYLESS_TOKEN_PROVIDER = 'msal';
      try {
        expect(JSON.parse(JSON.stringify(track(createBlobConnector({ accountUrl }))))).toMatchObject({
          backend: 'msal',
        });
      } finally {
        delete process.env.KEYLESS_TOKEN_PROVIDER;
      }
    });

    it('connect() fails at start-up when Storage refuses the token (wrong audience: 401 InvalidAuthenticationInfo, as Azure answers)', async () => {
      // The stack's Blob front checks the audience (and the signature) before Azurite sees the request.
      const connector = track(
        createBlobConnector({ accountUrl, tokenProvider: vaultAudienceProvider(sharedProvider) }),
      );
      const error = await connector.connect().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AuthenticationFailedError);
      expect(error).toMatchObject({ code: 'authentication-failed', status: 401 });
      expect((error as Error).message).toContain('401 InvalidAuthenticationInfo');
      expect((error as { hint?: string }).hint).toContain('https://storage.azure.com/.default');
      // The SDK's RestError (request, headers) is the cause: a count, never the tokens themselves.
      expect(findLeaks(renderEveryWay(error).join('\n'), stack.identity.issuedTokens()).length).toBe(0);
    });

    it('after close(), every entry point refuses with ClosedError, and a provider passed in keeps working', async () => {
      const connector = createBlobConnector({ accountUrl, tokenProvider: sharedProvider });
      await connector.close();
      expect(() => connector.client).toThrow(expect.objectContaining({ code: 'closed' }));
      expect(() => connector.containerClient('keyless-demo')).toThrow(
        expect.objectContaining({ code: 'closed' }),
      );
      await expect(connector.run(async () => 'never')).rejects.toMatchObject({ code: 'closed' });
      await expect(connector.connect()).rejects.toMatchObject({ code: 'closed' });
      // A provider passed in belongs to the caller: it keeps working.
      await expect(sharedProvider.getToken('https://storage.azure.com/.default')).resolves.toBeDefined();
    });

    it('prints only the account URL and the backend', async () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      await connector.run((client) => client.getContainerClient('keyless-demo').getProperties());
      expect(JSON.parse(JSON.stringify(connector))).toEqual({ accountUrl, backend: 'azure-identity' });
      expect(inspect(connector, { depth: 8, showHidden: true }).replace(/\s+/g, ' ')).toBe(
        `BlobConnector { accountUrl: '${accountUrl}', backend: 'azure-identity' }`,
      );
      const printed = [connector, connector.client].flatMap(renderEveryWay).join('\n');
      expect(findLeaks(printed, stack.identity.issuedTokens()).length).toBe(0);
    });
  });

  describe('connect()', () => {
    /** The shared provider, counting the token requests made through it. */
    const countingProvider = () => {
      const counter = { requests: 0 };
      const provider: TokenProvider = {
        backend: sharedProvider.backend,
        identity: sharedProvider.identity,
        identityDescription: sharedProvider.identityDescription,
        getToken: (scopes, options) => {
          counter.requests += 1;
          return sharedProvider.getToken(scopes, options);
        },
        warmUp: (scopes) => sharedProvider.warmUp(scopes),
        on: (name, listener) => sharedProvider.on(name, listener),
        off: (name, listener) => sharedProvider.off(name, listener),
        close: async () => {},
      };
      return { counter, provider };
    };

    it('gets a token and makes one authenticated request', async () => {
      const { counter, provider } = countingProvider();
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: provider }));
      await expect(connector.connect()).resolves.toBeUndefined();
      expect(counter.requests).toBeGreaterThan(0);
    });

    it('with a container: checks that container (for a role on one container)', async () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      await expect(connector.connect({ container: 'keyless-demo' })).resolves.toBeUndefined();
      // A missing container is the SDK's 404, unchanged, as from run().
      const missing = await connector
        .connect({ container: 'no-such-container' })
        .catch((caught: unknown) => caught);
      expect(missing).toBeInstanceOf(RestError);
      expect(missing).toMatchObject({ statusCode: 404, code: 'ContainerNotFound' });
      const empty = await connector.connect({ container: ' ' }).catch((caught: unknown) => caught);
      expect(empty).toBeInstanceOf(ConfigurationError);
      expect((empty as Error).message).toContain('`container`');
    });
  });

  describe('ready() (readiness probes)', () => {
    /** Runs `work` while the app identity has no Storage role (as after `az role assignment delete`). */
    const withoutRoles = async (work: () => Promise<void>) => {
      const principal = stack.appIdentity.objectId;
      const before = stack.blob?.roleAssignments().filter((each) => each.principalId === principal) ?? [];
      expect(before.length).toBeGreaterThan(0);
      stack.blob?.removeRole(principal);
      try {
        await work();
      } finally {
        for (const each of before) {
          stack.blob?.assignRole(
            principal,
            each.role,
            each.container ? { container: each.container } : undefined,
          );
        }
      }
    };

    it('first runs connect(); then checks only the cached token, without a request to the account', async () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      await expect(connector.ready()).resolves.toBeUndefined();
      await withoutRoles(async () => {
        // connect() asks the account, which now refuses; ready() asks only the process.
        await expect(connector.connect()).rejects.toBeInstanceOf(AuthorizationError);
        for (let probe = 0; probe < 3; probe += 1) await expect(connector.ready()).resolves.toBeUndefined();
      });
    });

    it('not ready: the typed error of connect(), and the next probe connects again', async () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      await withoutRoles(async () => {
        await expect(connector.ready()).rejects.toBeInstanceOf(AuthorizationError);
      });
      await expect(connector.ready()).resolves.toBeUndefined();
    });

    it('after close(): ClosedError', async () => {
      const connector = createBlobConnector({ accountUrl, tokenProvider: sharedProvider });
      await connector.close();
      await expect(connector.ready()).rejects.toMatchObject({ code: 'closed' });
    });
  });
});

/** A TokenProvider-shaped credential that hands out Key Vault tokens: the classic audience mistake. */
function vaultAudienceProvider(inner: TokenProvider): TokenProvider {
  return {
    backend: inner.backend,
    identity: inner.identity,
    identityDescription: inner.identityDescription,
    getToken: (_scopes, options) => inner.getToken('https://vault.azure.net/.default', options),
    warmUp: () => inner.warmUp('https://vault.azure.net/.default'),
    on: (name, listener) => inner.on(name, listener),
    off: (name, listener) => inner.off(name, listener),
    close: async () => {},
  };
}
