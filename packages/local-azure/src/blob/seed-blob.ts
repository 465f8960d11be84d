import { request } from 'node:https';

export interface BlobSeed {
  blobEndpoint: string;
  /** A bearer token for https://storage.azure.com minted by the identity endpoint. */
  token: string;
  ca: string;
  container: string;
  blobName: string;
  content: string;
}

/**
 * Creates a container and one block blob through Azurite's REST API with a bearer token — the
 * same path an application takes, so seeding also proves the OAuth wiring works. (The Storage
 * SDK is not a run-time dependency of this package.)
 */
export async function seedBlob(seed: BlobSeed): Promise<void> {
  const containerUrl = `${seed.blobEndpoint}/${seed.container}`;
  const created = await send('PUT', `${containerUrl}?restype=container`, seed, '');
  if (created !== 201 && created !== 409)
    throw new Error(`seeding Azurite: creating container answered ${created}`);
  const uploaded = await send('PUT', `${containerUrl}/${seed.blobName}`, seed, seed.content, {
    'x-ms-blob-type': 'BlockBlob',
    'content-type': 'text/plain; charset=utf-8',
  });
  if (uploaded !== 201) throw new Error(`seeding Azurite: uploading ${seed.blobName} answered ${uploaded}`);
}

function send(
  method: string,
  url: string,
  seed: BlobSeed,
  body: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method,
        ca: seed.ca,
        headers: {
          authorization: `Bearer ${seed.token}`,
          'x-ms-version': '2021-12-02',
          'x-ms-date': new Date().toUTCString(),
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
