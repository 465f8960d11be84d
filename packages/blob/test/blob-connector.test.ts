import { inspect } from 'node:util';
import { RestError } from '@azure/storage-blob';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  createTokenProvider,
  ServiceUnavailableError,
  type TokenProvider,
} from '@keyless/core';
import { findFreePort, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { catchError, findLeaks, renderEveryWay, useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mapBlobError } from '../src/blob-error-mapping.js';
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

  describe('configuration', () => {
    it('refuses a value that is not a URL, naming the option and the variable', () => {
      const error = catchError(() =>
        createBlobConnector({ accountUrl: 'myaccount', tokenProvider: sharedProvider }),
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ code: 'configuration' });
      expect((error as Error).message).toContain('option `accountUrl`');
      expect((error as Error).message).toContain(accountVariable);
    });

    it('refuses http for anything but loopback, and says why', () => {
      const error = catchError(() =>
        createBlobConnector({
          accountUrl: 'http://myaccount.blob.core.windows.net',
          tokenProvider: sharedProvider,
        }),
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/http is allowed only for a loopback emulator/);
      expect(() =>
        track(
          createBlobConnector({
            accountUrl: 'http://127.0.0.1:10000/devstoreaccount1',
            tokenProvider: sharedProvider,
          }),
        ),
      ).not.toThrow();
    });

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

    it('says what to set when neither the option nor the variable is there', () => {
      const error = catchError(() => createBlobConnector({ tokenProvider: sharedProvider }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain('`accountUrl`');
      expect((error as Error).message).toContain(accountVariable);
    });

    it('names the variable when the bad value came from the environment', () => {
      process.env[accountVariable] = 'ftp://myaccount.blob.core.windows.net';
      const error = catchError(() => createBlobConnector({ tokenProvider: sharedProvider }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain(`environment variable ${accountVariable}`);
    });

    it('lets the option win over the environment', async () => {
      process.env[accountVariable] = 'https://elsewhere.blob.core.windows.net';
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      expect(connector.client.url.replace(/\/$/, '')).toBe(accountUrl);
    });
  });

  describe('against Azurite', () => {
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

    it('uploads, downloads and lists through container()', async () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      const container = connector.container('connector-test');
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

    it('reads the token backend from the environment too, and fails at construction on a bad one', () => {
      process.env.KEYLESS_TOKEN_PROVIDER = 'msal';
      try {
        expect(JSON.parse(JSON.stringify(track(createBlobConnector({ accountUrl }))))).toMatchObject({
          backend: 'msal',
        });
        process.env.KEYLESS_TOKEN_PROVIDER = 'kerberos';
        const error = catchError(() => createBlobConnector({ accountUrl }));
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toContain('KEYLESS_TOKEN_PROVIDER');
      } finally {
        delete process.env.KEYLESS_TOKEN_PROVIDER;
      }
    });

    it('passes app-level errors (404) through unchanged', async () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      const error = await connector
        .run((client) => client.getContainerClient('keyless-demo').getBlobClient('missing.txt').download())
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RestError);
      expect(error).toMatchObject({ statusCode: 404, code: 'BlobNotFound' });
    });

    it('maps a token for the wrong audience to AuthenticationFailedError', async () => {
      // Azurite checks the audience (not the signature) and answers 403 AuthenticationFailed.
      const connector = track(
        createBlobConnector({ accountUrl, tokenProvider: vaultAudienceProvider(sharedProvider) }),
      );
      const error = await connector
        .run((client) => client.getContainerClient('keyless-demo').getProperties())
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AuthenticationFailedError);
      expect(error).toMatchObject({ code: 'authentication-failed', status: 403 });
      expect((error as Error).message).toContain('https://storage.azure.com/.default');
      expect(findLeaks(renderEveryWay(error).join('\n'), stack.identity.issuedTokens())).toEqual([]);
    });

    it("hands the provider's own KeylessError through unchanged", async () => {
      const closedProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
      await closedProvider.close();
      const connector = track(
        createBlobConnector({
          accountUrl,
          tokenProvider: closedProvider,
          clientOptions: { retryOptions: { maxTries: 1 } },
        }),
      );
      const error = await connector
        .run((client) => client.getContainerClient('keyless-demo').getProperties())
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({
        name: 'ClosedError',
        code: 'closed',
        message: expect.stringContaining('TokenProvider'),
      });
    });

    it("maps an unreachable account to 'unavailable', naming the host", async () => {
      const port = await findFreePort();
      const connector = track(
        createBlobConnector({
          accountUrl: `https://127.0.0.1:${port}/devstoreaccount1`,
          tokenProvider: sharedProvider,
          // One try: the SDK's own backoff would otherwise wait tens of seconds.
          clientOptions: { retryOptions: { maxTries: 1 } },
        }),
      );
      const error = await connector
        .run((client) => client.getContainerClient('keyless-demo').getProperties())
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ServiceUnavailableError);
      expect(error).toMatchObject({ code: 'unavailable', retryable: true });
      expect((error as ServiceUnavailableError).hint).toContain(`127.0.0.1:${port}`);
    });

    it('refuses use after close(), which is idempotent', async () => {
      const connector = createBlobConnector({ accountUrl, tokenProvider: sharedProvider });
      await connector.close();
      await connector.close();
      expect(() => connector.client).toThrow(expect.objectContaining({ code: 'closed' }));
      expect(() => connector.container('keyless-demo')).toThrow(expect.objectContaining({ code: 'closed' }));
      await expect(connector.run(async () => 'never')).rejects.toMatchObject({ code: 'closed' });
      // A provider passed in belongs to the caller: it keeps working.
      await expect(sharedProvider.getToken('https://storage.azure.com/.default')).resolves.toBeDefined();
    });

    it('prints only the account URL and the backend', async () => {
      const connector = track(createBlobConnector({ accountUrl, tokenProvider: sharedProvider }));
      await connector.run((client) => client.getContainerClient('keyless-demo').getProperties());
      expect(JSON.parse(JSON.stringify(connector))).toEqual({ accountUrl, backend: 'azure-identity' });
      expect(inspect(connector, { depth: 8, showHidden: true })).toBe(
        `BlobConnector { accountUrl: '${accountUrl}', backend: 'azure-identity' }`,
      );
      const printed = [connector, connector.client].flatMap(renderEveryWay).join('\n');
      expect(findLeaks(printed, stack.identity.issuedTokens())).toEqual([]);
    });
  });
});

describe('mapBlobError', () => {
  const request = { url: 'https://myaccount.blob.core.windows.net/data/report.csv' };

  // Azurite does not emulate role assignments, so the 403 Azure sends to an identity without a
  // Storage Blob Data role is constructed here, shaped as the Storage SDK throws it.
  it('maps 403 AuthorizationPermissionMismatch to AuthorizationError with the roles to assign', () => {
    const native = new RestError(
      'This request is not authorized to perform this operation using this permission.',
      {
        statusCode: 403,
        code: 'AuthorizationPermissionMismatch',
        request: request as never,
      },
    );
    const mapped = mapBlobError(native);
    expect(mapped).toBeInstanceOf(AuthorizationError);
    expect(mapped).toMatchObject({ code: 'authorization', status: 403, cause: native });
    expect((mapped as AuthorizationError).hint).toContain('Storage Blob Data Reader');
    expect((mapped as AuthorizationError).hint).toContain('Storage Blob Data Contributor');
    expect((mapped as Error).message).toContain('myaccount.blob.core.windows.net');
  });

  it('maps 403 AuthorizationFailure to AuthorizationError', () => {
    const native = new RestError('This request is not authorized to perform this operation.', {
      statusCode: 403,
      code: 'AuthorizationFailure',
    });
    expect(mapBlobError(native, { accountUrl: 'https://myaccount.blob.core.windows.net' })).toMatchObject({
      code: 'authorization',
    });
  });

  it('maps 403 AuthenticationFailed and 401 InvalidAuthenticationInfo to AuthenticationFailedError', () => {
    const azurite = new RestError('Server failed to authenticate the request.', {
      statusCode: 403,
      code: 'AuthenticationFailed',
    });
    const azure = new RestError('Server failed to authenticate the request.', {
      statusCode: 401,
      code: 'InvalidAuthenticationInfo',
    });
    for (const native of [azurite, azure]) {
      const mapped = mapBlobError(native);
      expect(mapped).toBeInstanceOf(AuthenticationFailedError);
      expect((mapped as AuthenticationFailedError).hint).toContain('https://storage.azure.com/.default');
    }
  });

  it('leaves other 403s and app-level errors alone', () => {
    const conflict = new RestError('The specified container already exists.', {
      statusCode: 409,
      code: 'ContainerAlreadyExists',
    });
    const otherForbidden = new RestError('Blob operation not supported.', {
      statusCode: 403,
      code: 'BlobOperationNotSupported',
    });
    expect(mapBlobError(conflict)).toBe(conflict);
    expect(mapBlobError(otherForbidden)).toBe(otherForbidden);
  });

  it('maps network failures to unavailable and passes KeylessErrors through', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const sendError = new RestError('getaddrinfo ENOTFOUND nope.blob.core.windows.net', {
      code: 'REQUEST_SEND_ERROR',
    });
    expect(mapBlobError(refused, { accountUrl: 'https://nope.blob.core.windows.net' })).toMatchObject({
      code: 'unavailable',
      hint: expect.stringContaining('nope.blob.core.windows.net'),
    });
    expect(mapBlobError(sendError)).toMatchObject({ code: 'unavailable' });
    const ours = new ConfigurationError('bad');
    expect(mapBlobError(ours)).toBe(ours);
  });
});

/** A TokenProvider-shaped credential that hands out Key Vault tokens: the classic audience mistake. */
function vaultAudienceProvider(inner: TokenProvider): TokenProvider {
  return {
    backend: inner.backend,
    identity: inner.identity,
    identityDescription: inner.identityDescription,
    getToken: (_scopes, options) => inner.getToken('https://vault.azure.net/.default', options),
    on: (name, listener) => inner.on(name, listener),
    off: (name, listener) => inner.off(name, listener),
    close: async () => {},
  };
}
