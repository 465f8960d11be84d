import { existsSync } from 'node:fs';
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { BlobServiceClient } from '@azure/storage-blob';
import { Connection, Request } from 'tedious';
import { describe, expect, it } from 'vitest';
import { type StackProgressEvent, startLocalAzure } from '../src/index.js';
import { useManagedIdentityEnvironment } from './support/token-requests.js';

function suserSname(
  environment: Readonly<Record<string, string>>,
  credential: DefaultAzureCredential,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: environment.KEYLESS_SQL_SERVER as string,
      authentication: { type: 'token-credential', options: { credential } },
      options: {
        port: Number(environment.KEYLESS_SQL_PORT),
        database: environment.KEYLESS_SQL_DATABASE as string,
        encrypt: 'strict',
      },
    });
    connection.on('error', reject);
    connection.connect((error) => {
      if (error) return reject(error);
      let name = '';
      const request = new Request('SELECT SUSER_SNAME()', (queryError) => {
        connection.close();
        if (queryError) reject(queryError);
        else resolve(name);
      });
      request.on('row', (columns) => {
        name = String(columns[0]?.value);
      });
      connection.execSql(request);
    });
  });
}

function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startLocalAzure', () => {
  it('starts, seeds and reports progress; unchanged SDK code works with only its environment; stop leaves nothing', async () => {
    const events: StackProgressEvent[] = [];
    const stack = await startLocalAzure({
      services: ['keyvault', 'blob', 'sql'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
      onProgress: (event) => events.push(event),
    });
    const azurite = stack.blob;
    try {
      expect(stack.services).toEqual(['identity', 'keyvault', 'blob', 'sql']);
      expect(Object.keys(stack.env)).toEqual(
        expect.arrayContaining([
          'NODE_EXTRA_CA_CERTS',
          'IDENTITY_ENDPOINT',
          'IDENTITY_HEADER',
          'AZURE_CLIENT_ID',
          'KEYLESS_BLOB_ACCOUNT_URL',
          'KEYLESS_KEYVAULT_URL',
        ]),
      );
      expect(events.filter((event) => event.phase === 'ready').map((event) => event.service)).toEqual([
        'identity',
        'keyvault',
        'blob',
        'sql',
      ]);
      expect(isRunning(azurite?.pid)).toBe(true);

      // What a Microsoft sample does, fed only by the stack's environment.
      const restore = useManagedIdentityEnvironment({ ...stack.env });
      try {
        const client = new BlobServiceClient(
          stack.env.KEYLESS_BLOB_ACCOUNT_URL as string,
          new DefaultAzureCredential(),
        );
        const seeded = client.getContainerClient('keyless-demo').getBlobClient('hello.txt');
        expect((await seeded.downloadToBuffer()).toString('utf8')).toContain('keyless local stack');
        // The one deviation from Microsoft's sample: a loopback vault cannot pass the SDK's
        // challenge-domain check, so it is switched off for loopback URLs only.
        const vaultUrl = stack.env.KEYLESS_KEYVAULT_URL as string;
        const secrets = new SecretClient(vaultUrl, new DefaultAzureCredential(), {
          disableChallengeResourceVerification: new URL(vaultUrl).hostname === '127.0.0.1',
        });
        const secret = await secrets.getSecret('demo-message');
        expect(secret.value).toContain('keyless-canary-secret');
        // The app identity is a Secrets User: reading works, writing is refused as in Azure.
        await expect(secrets.setSecret('demo-message', 'changed')).rejects.toMatchObject({ statusCode: 403 });
        // tedious with token-credential auth; TLS trusted through NODE_EXTRA_CA_CERTS alone.
        expect(await suserSname(stack.env, new DefaultAzureCredential())).toBe(stack.appIdentity.name);
      } finally {
        restore();
      }
    } finally {
      await stack.stop();
      await stack.stop(); // idempotent
    }
    expect(events.filter((event) => event.phase === 'stopped').map((event) => event.service)).toEqual([
      'sql',
      'blob',
      'keyvault',
      'identity',
    ]);
    expect(isRunning(azurite?.pid)).toBe(false);
    expect(existsSync(azurite?.workingFolder as string)).toBe(false);
    await expect(fetch(`https://127.0.0.1:${azurite?.port}/`)).rejects.toThrow();
    await expect(fetch(`${stack.identity.url}/.well-known/jwks.json`)).rejects.toThrow();
    expect(existsSync(stack.ca.caCertificatePath)).toBe(true); // the CA stays: one per state folder
  });
});
