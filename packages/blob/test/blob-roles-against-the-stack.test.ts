import { createSign, generateKeyPairSync } from 'node:crypto';

import {
  AuthenticationFailedError,
  AuthorizationError,
  createTokenProvider,
  type TokenProvider,
} from '@keyless/core';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BlobConnector, createBlobConnector } from '../src/index.js';

/**
 * @keyless/blob against the local stack's Blob front, which answers as Azure Storage does: 403
 * AuthorizationPermissionMismatch for a missing role, 401 InvalidAuthenticationInfo (with the
 * bearer challenge) for a token it cannot accept. Each answer must become the typed error whose
 * hint names the role to assign.
 */
describe('Blob roles and tokens, mapped to typed errors', () => {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER as string;
  const container = 'keyless-demo';
  let stack: LocalAzure;
  let tokens: TokenProvider;
  let restoreEnvironment: () => void;
  let connectors: BlobConnector[] = [];

  const appObjectId = () => stack.appIdentity.objectId;
  const blobEmulator = () => {
    if (!stack.blob) throw new Error('the stack has no Blob emulator');
    return stack.blob;
  };
  // A fixed-token stand-in is TokenCredential-shaped only, which the connector accepts.
  const connector = (tokenProvider: object = tokens) => {
    const created = createBlobConnector({
      accountUrl: stack.env.KEYLESS_BLOB_ACCOUNT_URL,
      tokenProvider: tokenProvider as TokenProvider,
    });
    connectors.push(created);
    return created;
  };
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the operation to be refused');
      },
      (error: unknown) => error,
    );

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['blob'], stateFolder });
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    tokens = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  });

  afterEach(async () => {
    await Promise.all(connectors.map((created) => created.close()));
    connectors = [];
    // Back to what the seed grants.
    blobEmulator().removeRole(appObjectId());
    blobEmulator().assignRole(appObjectId(), 'Storage Blob Data Contributor');
  });

  afterAll(async () => {
    await tokens?.close();
    restoreEnvironment?.();
    await stack?.stop();
  });

  it('the seed grants the app identity Storage Blob Data Contributor on the account', async () => {
    expect(blobEmulator().roleAssignments()).toEqual([
      { principalId: appObjectId(), role: 'Storage Blob Data Contributor' },
    ]);
    const blobs = connector();
    await blobs.connect();
    const written = blobs.containerClient(container).getBlockBlobClient('by-the-app.txt');
    await blobs.run(() => written.upload('written', 7));
    expect((await blobs.run(() => written.downloadToBuffer())).toString()).toBe('written');
    await blobs.run(() => written.delete());
  });

  it('Reader only: a write is an AuthorizationError whose hint names Contributor', async () => {
    blobEmulator().removeRole(appObjectId(), 'Storage Blob Data Contributor');
    blobEmulator().assignRole(appObjectId(), 'Storage Blob Data Reader');
    const blobs = connector();
    const seeded = blobs.containerClient(container).getBlobClient('hello.txt');
    expect((await blobs.run(() => seeded.downloadToBuffer())).toString()).toContain('keyless local stack');
    const error = await failure(
      blobs.run(() => blobs.containerClient(container).getBlockBlobClient('refused.txt').upload('no', 2)),
    );
    expect(error).toBeInstanceOf(AuthorizationError);
    expect(error).toMatchObject({
      status: 403,
      message: expect.stringContaining('AuthorizationPermissionMismatch'),
    });
    expect((error as AuthorizationError).hint).toContain('*Storage Blob Data Contributor*');
    expect((error as AuthorizationError).hint).toContain('writing and deleting');
  });

  it('no role: a read is an AuthorizationError whose hint names Reader; connect() fails the same way', async () => {
    blobEmulator().removeRole(appObjectId());
    const blobs = connector();
    const error = await failure(
      blobs.run(() => blobs.containerClient(container).getBlobClient('hello.txt').download()),
    );
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).hint).toContain('*Storage Blob Data Reader*');
    // downloadToBuffer() starts with a HEAD: no body, the error code only in x-ms-error-code.
    await expect(
      blobs.run(() => blobs.containerClient(container).getBlobClient('hello.txt').downloadToBuffer()),
    ).rejects.toBeInstanceOf(AuthorizationError);
    await expect(blobs.connect()).rejects.toBeInstanceOf(AuthorizationError);
  });

  it('a role on the container only: connect() says to name the container, connect({ container }) passes', async () => {
    blobEmulator().removeRole(appObjectId());
    blobEmulator().assignRole(appObjectId(), 'Storage Blob Data Reader', { container });
    const blobs = connector();
    const error = await failure(blobs.connect());
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).hint).toContain("connect({ container: '<name>' })");
    await blobs.connect({ container });
  });

  it('tags need Owner: the hint says so', async () => {
    const blobs = connector();
    const error = await failure(
      blobs.run(() => blobs.containerClient(container).getBlobClient('hello.txt').setTags({ a: 'b' })),
    );
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).hint).toContain('*Storage Blob Data Owner*');
  });

  it('a forged token and a token for another audience: AuthenticationFailedError (401) naming the audience', async () => {
    const genuine = await tokens.getToken('https://storage.azure.com/.default');
    const [header, payload] = genuine.token.split('.');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey, 'base64url');
    const forged = `${header}.${payload}.${signature}`;
    const fixed = (token: string) => ({
      getToken: async (): Promise<{ token: string; expiresOnTimestamp: number }> => ({
        token,
        expiresOnTimestamp: Date.now() + 3_600_000,
      }),
    });
    const vault = await tokens.getToken('https://vault.azure.net/.default');
    for (const token of [forged, vault.token]) {
      const blobs = connector(fixed(token));
      const error = await failure(blobs.run(() => blobs.containerClient(container).getProperties()));
      expect(error).toBeInstanceOf(AuthenticationFailedError);
      expect(error).toMatchObject({
        status: 401,
        message: expect.stringContaining('401 InvalidAuthenticationInfo'),
      });
      expect((error as AuthenticationFailedError).hint).toContain('https://storage.azure.com/.default');
      expect(JSON.stringify(error)).not.toContain(token);
    }
  });
});
