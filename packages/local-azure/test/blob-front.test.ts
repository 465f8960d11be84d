import { createHash, randomBytes } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { CompactSign, decodeProtectedHeader, generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BlobEmulator,
  type IdentityEndpoint,
  startBlobEmulator,
  startIdentityEndpoint,
} from '../src/index.js';
import { fetchToken } from './support/identity-tokens.js';
import { testCertificateAuthority } from './support/test-state.js';
import { storageResource } from './support/token-requests.js';

/**
 * The real BlobServiceClient through the verifying front before Azurite: tokens checked as Azure
 * Storage checks them (signature included), operations allowed by the caller's roles only.
 */
let identity: IdentityEndpoint;
let blob: BlobEmulator;
let clockOffsetMilliseconds = 0;
const day = 86_400_000;
const container = 'front-test';

const denied = { statusCode: 403, code: 'AuthorizationPermissionMismatch' };
const invalidToken = { statusCode: 401, code: 'InvalidAuthenticationInfo' };

beforeAll(async () => {
  const authority = await testCertificateAuthority();
  identity = await startIdentityEndpoint({ now: () => Date.now() + clockOffsetMilliseconds });
  blob = await startBlobEmulator({
    identity,
    tls: {
      certPath: authority.serverCertificatePath,
      keyPath: authority.serverKeyPath,
      cert: authority.serverCertificate,
      key: authority.serverKey,
      ca: authority.caCertificate,
    },
    roleAssignments: [{ principalId: app().objectId, role: 'Storage Blob Data Owner' }],
  });
  const setup = client(appToken);
  await setup.getContainerClient(container).create();
  await setup.getContainerClient(container).getBlockBlobClient('seeded.txt').upload('seeded', 6);
  await setup.getContainerClient('other').create();
  await setup.getContainerClient('other').getBlockBlobClient('elsewhere.txt').upload('elsewhere', 9);
});

afterAll(async () => {
  await blob?.stop();
  await identity?.stop();
});

// The system-assigned identity is the principal whose roles each test sets.
beforeEach(() => blob.removeRole(system().objectId));

function app() {
  const definition = identity.userAssigned[0];
  if (!definition) throw new Error('the identity endpoint has no user-assigned identity');
  return definition;
}

function system() {
  const definition = identity.systemAssigned;
  if (!definition) throw new Error('the identity endpoint has no system-assigned identity');
  return definition;
}

const appToken = async () =>
  (await fetchToken(identity, storageResource, { clientId: app().clientId })).token;
const systemToken = async () => (await fetchToken(identity, storageResource)).token;

function client(token: () => Promise<string>): BlobServiceClient {
  const credential: TokenCredential = {
    getToken: async () => ({ token: await token(), expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  return new BlobServiceClient(blob.blobEndpoint, credential);
}

async function listContainerNames(service: BlobServiceClient): Promise<string[]> {
  const names: string[] = [];
  for await (const item of service.listContainers()) names.push(item.name);
  return names;
}

async function listBlobNames(service: BlobServiceClient, name = container): Promise<string[]> {
  const names: string[] = [];
  for await (const item of service.getContainerClient(name).listBlobsFlat()) names.push(item.name);
  return names;
}

// (Failures are asserted on GET requests: for a HEAD, such as the one downloadToBuffer() starts
// with, the SDK leaves `code` unset, against Azure as well.)
describe('roles, per operation', () => {
  it('Reader: lists containers and blobs, reads; every write, delete and container change is 403', async () => {
    blob.assignRole(system().objectId, 'Storage Blob Data Reader');
    const service = client(systemToken);
    const containerClient = service.getContainerClient(container);
    expect(await listContainerNames(service)).toEqual(expect.arrayContaining([container, 'other']));
    expect(await listBlobNames(service)).toContain('seeded.txt');
    expect((await containerClient.getBlobClient('seeded.txt').downloadToBuffer()).toString()).toBe('seeded');
    expect((await containerClient.getProperties()).etag).toBeTruthy();

    await expect(containerClient.getBlockBlobClient('new.txt').upload('x', 1)).rejects.toMatchObject(denied);
    await expect(containerClient.getBlobClient('seeded.txt').delete()).rejects.toMatchObject(denied);
    await expect(containerClient.getBlobClient('seeded.txt').setMetadata({ a: 'b' })).rejects.toMatchObject(
      denied,
    );
    await expect(service.getContainerClient('reader-made').create()).rejects.toMatchObject(denied);
    await expect(service.getContainerClient('other').delete()).rejects.toMatchObject(denied);
  });

  it('Contributor: also writes and deletes blobs, creates and deletes containers; not ACLs or tags', async () => {
    blob.assignRole(system().objectId, 'Storage Blob Data Contributor');
    const service = client(systemToken);
    const containerClient = service.getContainerClient(container);
    const written = containerClient.getBlockBlobClient('contributor.txt');
    await written.upload('by the contributor', 18);
    expect((await written.downloadToBuffer()).toString()).toBe('by the contributor');
    await written.setMetadata({ by: 'contributor' });
    await written.delete();
    await service.getContainerClient('contributor-made').create();
    await service.getContainerClient('contributor-made').delete();

    // Owner-only: the container's access policy and blob index tags.
    await expect(containerClient.setAccessPolicy()).rejects.toMatchObject(denied);
    await expect(containerClient.getBlobClient('seeded.txt').setTags({ a: 'b' })).rejects.toMatchObject(
      denied,
    );
  });

  it('Owner: also sets and reads blob index tags', async () => {
    blob.assignRole(system().objectId, 'Storage Blob Data Owner');
    const seeded = client(systemToken).getContainerClient(container).getBlobClient('seeded.txt');
    await seeded.setTags({ owner: 'yes' });
    expect((await seeded.getTags()).tags).toEqual({ owner: 'yes' });
  });

  it('no role: even a read is 403', async () => {
    const service = client(systemToken);
    await expect(
      service.getContainerClient(container).getBlobClient('seeded.txt').download(),
    ).rejects.toMatchObject(denied);
    await expect(listContainerNames(service)).rejects.toMatchObject(denied);
  });

  it('a container-scope assignment covers that container only, and not List Containers', async () => {
    blob.assignRole(system().objectId, 'Storage Blob Data Contributor', { container });
    const service = client(systemToken);
    expect(await listBlobNames(service)).toContain('seeded.txt');
    await service.getContainerClient(container).getBlockBlobClient('scoped.txt').upload('scoped', 6);
    await expect(listBlobNames(service, 'other')).rejects.toMatchObject(denied);
    await expect(
      service.getContainerClient('other').getBlobClient('elsewhere.txt').download(),
    ).rejects.toMatchObject(denied);
    await expect(listContainerNames(service)).rejects.toMatchObject(denied);

    blob.removeRole(system().objectId, 'Storage Blob Data Contributor', { container });
    await expect(listBlobNames(service)).rejects.toMatchObject(denied);
  });

  it('removing and adding an assignment takes effect at the next request', async () => {
    const service = client(systemToken);
    const seeded = service.getContainerClient(container).getBlobClient('seeded.txt');
    blob.assignRole(system().objectId, 'Storage Blob Data Reader');
    expect((await seeded.downloadToBuffer()).toString()).toBe('seeded');
    blob.removeRole(system().objectId, 'Storage Blob Data Reader');
    await expect(seeded.download()).rejects.toMatchObject(denied);
    expect(blob.roleAssignments()).toEqual([
      { principalId: app().objectId, role: 'Storage Blob Data Owner' },
    ]);
  });

  it('refuses a bad assignment with a TypeError that says what to pass', () => {
    expect(() => blob.assignRole(system().objectId, 'Storage Account Contributor' as never)).toThrow(
      /role must be one of 'Storage Blob Data Reader'/,
    );
    expect(() => blob.assignRole('', 'Storage Blob Data Reader')).toThrow(/principalId must be/);
    expect(() =>
      blob.assignRole(system().objectId, 'Storage Blob Data Reader', { container: 'No_Such' }),
    ).toThrow(/container must be a container name/);
  });
});

describe('tokens, as Azure Storage checks them', () => {
  const challenge = () =>
    `Bearer authorization_uri=https://login.microsoftonline.com/${identity.tenantId}/oauth2/authorize resource_id=https://storage.azure.com`;

  it('no token: 401 NoAuthenticationInformation with the bearer challenge', async () => {
    const response = await fetch(`${blob.blobEndpoint}?comp=list`, {
      headers: { 'x-ms-version': '2025-01-05' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(challenge());
    expect(response.headers.get('x-ms-error-code')).toBe('NoAuthenticationInformation');
    expect(await response.text()).toContain('<Code>NoAuthenticationInformation</Code>');
    await expect(
      new BlobServiceClient(blob.blobEndpoint).getContainerClient(container).getProperties(),
    ).rejects.toMatchObject({ statusCode: 401, code: 'NoAuthenticationInformation' });
  });

  it('a forged token (same header and claims, signed with another RSA key): 401 InvalidAuthenticationInfo', async () => {
    const genuine = await appToken();
    const [, payload] = genuine.split('.');
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new CompactSign(Buffer.from(payload as string, 'base64url'))
      .setProtectedHeader(decodeProtectedHeader(genuine) as { alg: string })
      .sign(privateKey);
    expect(forged.split('.').slice(0, 2)).toEqual(genuine.split('.').slice(0, 2));

    const response = await fetch(`${blob.blobEndpoint}/${container}?restype=container`, {
      headers: { authorization: `Bearer ${forged}`, 'x-ms-version': '2025-01-05' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(challenge());
    const body = await response.text();
    expect(body).toContain('<Code>InvalidAuthenticationInfo</Code>');
    expect(body).toContain('Signature validation failed');
    expect(body).not.toContain(forged);
    // The owner's own identity, so only the signature is wrong.
    await expect(
      client(async () => forged)
        .getContainerClient(container)
        .getBlobClient('seeded.txt')
        .download(),
    ).rejects.toMatchObject(invalidToken);
  });

  it('a token for another audience: 401 InvalidAuthenticationInfo', async () => {
    const vaultToken = async () =>
      (await fetchToken(identity, 'https://vault.azure.net', { clientId: app().clientId })).token;
    await expect(
      client(vaultToken).getContainerClient(container).getBlobClient('seeded.txt').download(),
    ).rejects.toMatchObject(invalidToken);
  });

  it('an expired token: 401 InvalidAuthenticationInfo', async () => {
    clockOffsetMilliseconds = -2 * day;
    let stale: string;
    try {
      stale = await appToken();
    } finally {
      clockOffsetMilliseconds = 0;
    }
    const response = await fetch(`${blob.blobEndpoint}/${container}?restype=container`, {
      headers: { authorization: `Bearer ${stale}`, 'x-ms-version': '2025-01-05' },
    });
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('Lifetime validation failed. The token is expired.');
    await expect(
      client(async () => stale)
        .getContainerClient(container)
        .getProperties(),
    ).rejects.toMatchObject(invalidToken);
  });

  it('Shared Key: 403 KeyBasedAuthenticationNotPermitted (the account allows Entra tokens only)', async () => {
    const response = await fetch(`${blob.blobEndpoint}?comp=list`, {
      headers: { authorization: 'SharedKey devstoreaccount1:c2lnbmF0dXJl', 'x-ms-version': '2025-01-05' },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-ms-error-code')).toBe('KeyBasedAuthenticationNotPermitted');
  });
});

describe('streaming through the front', () => {
  it('uploads and downloads 24 MB unchanged, and keeps Azurite’s own answers (404, 409)', async () => {
    const service = client(appToken);
    const content = randomBytes(24 * 1024 * 1024);
    const large = service.getContainerClient(container).getBlockBlobClient('large.bin');
    await large.uploadData(content, { maxSingleShotSize: 32 * 1024 * 1024 });
    const downloaded = await large.downloadToBuffer();
    expect(createHash('sha256').update(downloaded).digest('hex')).toBe(
      createHash('sha256').update(content).digest('hex'),
    );
    await expect(
      service.getContainerClient(container).getBlobClient('missing.txt').download(),
    ).rejects.toMatchObject({ statusCode: 404, code: 'BlobNotFound' });
    await expect(service.getContainerClient(container).create()).rejects.toMatchObject({
      statusCode: 409,
      code: 'ContainerAlreadyExists',
    });
  });
});
