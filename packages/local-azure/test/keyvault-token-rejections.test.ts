import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint } from '../src/index.js';
import {
  bearer,
  fixedTokenCredential,
  type KeyVaultStack,
  mintToken,
  rawRequest,
  secretClient,
  startKeyVaultStack,
  vaultResource,
} from './support/key-vault-stack.js';
import { storageResource } from './support/token-requests.js';

// Tokens made wrong on purpose, handed to the real SecretClient (or sent raw), against Azure's answers.
let stack: KeyVaultStack;
let foreignKeyEndpoint: IdentityEndpoint;
let otherTenantEndpoint: IdentityEndpoint;
let clockOffsetMilliseconds = 0;
const day = 86_400_000;
const apiVersion = '7.5';

beforeAll(async () => {
  // Shared with the other-tenant endpoint, so its tokens verify and only the issuer differs.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = await exportJWK(privateKey);
  stack = await startKeyVaultStack({
    identity: { signingKey, now: () => Date.now() + clockOffsetMilliseconds },
  });
  [foreignKeyEndpoint, otherTenantEndpoint] = await Promise.all([
    startIdentityEndpoint(),
    startIdentityEndpoint({ signingKey, tenantId: '0a1b2c3d-0000-4000-8000-0000000000aa' }),
  ]);
  stack.vault.assignRole(officer().objectId, 'Key Vault Secrets Officer');
  stack.vault.setSecret('seeded', 'seeded-value');
});

afterAll(async () => {
  await Promise.all([stack.stop(), foreignKeyEndpoint.stop(), otherTenantEndpoint.stop()]);
});

function officer() {
  const identity = stack.identity.userAssigned[0];
  if (!identity) throw new Error('the identity endpoint has no user-assigned identity');
  return identity;
}

function officerToken(
  endpoint: IdentityEndpoint = stack.identity,
  resource = vaultResource,
): Promise<string> {
  return mintToken(endpoint, resource, { client_id: officer().clientId });
}

async function tokenMintedAt(offsetMilliseconds: number): Promise<string> {
  clockOffsetMilliseconds = offsetMilliseconds;
  try {
    return await officerToken();
  } finally {
    clockOffsetMilliseconds = 0;
  }
}

async function sdkFailureWith(
  token: string,
): Promise<{ statusCode?: number; code?: string; message: string }> {
  const client = secretClient(stack, fixedTokenCredential(token));
  return client.getSecret('seeded').then(
    () => {
      throw new Error('expected the vault to refuse the token');
    },
    (error: { statusCode?: number; code?: string; message: string }) => error,
  );
}

describe('token checks, through the SDK', () => {
  it('accepts a good token', async () => {
    const client = secretClient(stack, fixedTokenCredential(await officerToken()));
    expect((await client.getSecret('seeded')).value).toBe('seeded-value');
  });

  it('accepts a token whose audience has a trailing slash', async () => {
    const token = await officerToken(stack.identity, `${vaultResource}/`);
    const client = secretClient(stack, fixedTokenCredential(token));
    expect((await client.getSecret('seeded')).value).toBe('seeded-value');
  });

  it('refuses a token for another resource: AKV10022', async () => {
    const failure = await sdkFailureWith(await officerToken(stack.identity, storageResource));
    expect(failure).toMatchObject({ statusCode: 401, code: 'Unauthorized' });
    expect(failure.message).toBe(
      `AKV10022: Invalid audience. Expected https://vault.azure.net, found: ${storageResource}.`,
    );
  });

  it('refuses an expired token', async () => {
    const failure = await sdkFailureWith(await tokenMintedAt(-2 * day));
    expect(failure).toMatchObject({ statusCode: 401, code: 'Unauthorized' });
    expect(failure.message).toContain('[TokenExpired]');
  });

  it('refuses a token that is not valid yet', async () => {
    const failure = await sdkFailureWith(await tokenMintedAt(day));
    expect(failure).toMatchObject({ statusCode: 401, code: 'Unauthorized' });
    expect(failure.message).toContain('not yet valid');
  });

  it('refuses a token signed by a key the vault does not know: AKV10046', async () => {
    const failure = await sdkFailureWith(await officerToken(foreignKeyEndpoint));
    expect(failure).toMatchObject({ statusCode: 401, code: 'Unauthorized' });
    expect(failure.message).toMatch(/^AKV10046: Unable to resolve the key used for signature validation/);
  });

  it('refuses a token from another tenant: AKV10032', async () => {
    const failure = await sdkFailureWith(await officerToken(otherTenantEndpoint));
    expect(failure).toMatchObject({ statusCode: 401, code: 'Unauthorized' });
    expect(failure.message).toMatch(
      /^AKV10032: Invalid issuer\. Expected one of https:\/\/sts\.windows\.net\//,
    );
  });
});

describe('role-based access', () => {
  it('refuses a principal without a role with 403 ForbiddenByRbac, naming the caller and action', async () => {
    const systemToken = await mintToken(stack.identity, vaultResource);
    const client = secretClient(stack, fixedTokenCredential(systemToken));
    const failure = await client.getSecret('seeded').then(
      () => undefined,
      (error: { statusCode?: number; code?: string; message: string; details?: unknown }) => error,
    );
    expect(failure).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(failure?.message).toMatch(/^Caller is not authorized to perform action on resource\./);
    expect(failure?.message).toContain(`oid=${stack.identity.systemAssigned?.objectId}`);
    expect(failure?.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'");
    const raw = await rawRequest(stack, `/secrets/seeded?api-version=${apiVersion}`, {
      headers: bearer(systemToken),
    });
    expect(raw.body.error.innererror).toEqual({ code: 'ForbiddenByRbac' });
  });

  it('lets a Secrets User read but not write', async () => {
    const principal = stack.identity.systemAssigned?.objectId ?? '';
    stack.vault.assignRole(principal, 'Key Vault Secrets User');
    try {
      const client = secretClient(
        stack,
        fixedTokenCredential(await mintToken(stack.identity, vaultResource)),
      );
      expect((await client.getSecret('seeded')).value).toBe('seeded-value');
      await expect(client.setSecret('seeded', 'overwritten')).rejects.toMatchObject({
        statusCode: 403,
        code: 'Forbidden',
      });
      await expect(client.beginDeleteSecret('seeded')).rejects.toMatchObject({ statusCode: 403 });
    } finally {
      stack.vault.removeRole(principal);
    }
  });
});

describe('raw requests', () => {
  it('challenges a request without a token before reading its body', async () => {
    // Headers promise a body that never comes: the answer must not wait for it.
    const answer = await new Promise<{ status: number; challenge: string | undefined; body: string }>(
      (resolve, reject) => {
        import('node:https')
          .then(({ request }) => {
            const pending = request(
              new URL(`/secrets/seeded?api-version=${apiVersion}`, stack.vault.url),
              {
                method: 'PUT',
                headers: { 'Content-Type': 'application/json', 'Content-Length': '1000' },
                ca: stack.authority.caCertificate,
                agent: false,
              },
              (response) => {
                let body = '';
                response.setEncoding('utf8');
                response.on('data', (chunk: string) => {
                  body += chunk;
                });
                response.on('end', () => {
                  resolve({
                    status: response.statusCode ?? 0,
                    challenge: response.headers['www-authenticate'],
                    body,
                  });
                  pending.destroy();
                });
              },
            );
            pending.on('error', reject);
            pending.flushHeaders();
          })
          .catch(reject);
      },
    );
    expect(answer.status).toBe(401);
    expect(answer.challenge).toBe(
      `Bearer authorization="https://login.microsoftonline.com/${stack.identity.tenantId}", resource="https://vault.azure.net"`,
    );
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
    });
  });

  it('reads percent-encoded query keys', async () => {
    stack.vault.setSecret('seeded-too', 'another-value');
    const token = await officerToken();
    const answer = await rawRequest(stack, '/secrets/seeded?api%2Dversion=7.5', { headers: bearer(token) });
    expect(answer.status).toBe(200);
    expect(answer.body.value).toBe('seeded-value');
    const listed = await rawRequest(stack, '/secrets?api%2dversion=7.5&%6Daxresults=1', {
      headers: bearer(token),
    });
    expect(listed.body.value).toHaveLength(1);
    expect(listed.body.nextLink).toMatch(
      /^https:\/\/127\.0\.0\.1:\d+\/secrets\?api-version=7\.5&\$skiptoken=/,
    );
  });

  it('keeps serving after garbage', async () => {
    const token = await officerToken();
    const headers = { ...bearer(token), 'Content-Type': 'application/json' };
    const cases: [string, { method?: string; headers?: Record<string, string>; body?: string }, number][] = [
      ['/secrets/garbage?api-version=7.5', { method: 'PUT', headers, body: '{"value":' }, 400],
      ['/secrets/garbage?api-version=7.5', { method: 'PUT', headers, body: '[1,2]' }, 400],
      ['/secrets/garbage?api-version=7.5', { method: 'PUT', headers, body: '{"value":42}' }, 400],
      ['/secrets/garbage?api-version=7.5', { method: 'PUT', headers, body: 'x'.repeat(300 * 1024) }, 413],
      ['/secrets/bad%zzname?api-version=7.5', { headers }, 400],
      ['/secrets/seeded', { headers }, 400],
      ['/secrets/seeded?api-version=not-a-version', { headers }, 400],
      ['/secrets?api-version=7.5&maxresults=500', { headers }, 400],
      ['/secrets?api-version=7.5&$skiptoken=%%%', { headers }, 400],
      ['/no/such/path/at/all?api-version=7.5', { headers }, 404],
      ['/secrets?api-version=7.5', { method: 'DELETE', headers }, 405],
      ['/secrets/seeded?api-version=7.5', { headers: { Authorization: 'Bearer not.a.jwt' } }, 401],
      ['/secrets/seeded?api-version=7.5', { headers: { Authorization: 'Basic Zm9vOmJhcg==' } }, 401],
    ];
    for (const [path, options, status] of cases) {
      const answer = await rawRequest(stack, path, options);
      expect({ path, status: answer.status }).toEqual({ path, status });
      expect(answer.body?.error?.code).toEqual(expect.any(String));
    }
    expect(await sendOverTls('THIS IS NOT HTTP\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await sendOverPlainTcp('GET /secrets HTTP/1.1\r\nHost: x\r\n\r\n')).not.toMatch(/^HTTP/);
    const still = await rawRequest(stack, '/secrets/seeded?api-version=7.5', { headers: bearer(token) });
    expect(still.status).toBe(200);
  });
});

function vaultAddress(): { host: string; port: number } {
  const { hostname, port } = new URL(stack.vault.url);
  return { host: hostname, port: Number(port) };
}

/** Bytes over a verified TLS connection, returning whatever comes back before the close. */
function sendOverTls(raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ ...vaultAddress(), ca: stack.authority.caCertificate }, () =>
      socket.write(raw),
    );
    collectUntilClose(socket, resolve, reject);
  });
}

/** Plain HTTP to the HTTPS port: the TLS layer drops it; the server must survive. */
function sendOverPlainTcp(raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(vaultAddress(), () => socket.write(raw));
    collectUntilClose(socket, resolve, reject);
  });
}

function collectUntilClose(
  socket: NodeJS.ReadableStream & NodeJS.EventEmitter,
  resolve: (text: string) => void,
  reject: (error: Error) => void,
): void {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', (error: Error & { code?: string }) => {
    if (error.code === 'ECONNRESET') resolve(Buffer.concat(chunks).toString('latin1'));
    else reject(error);
  });
  socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
}
