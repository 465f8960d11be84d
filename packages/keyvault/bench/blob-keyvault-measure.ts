// The measuring half of blob-keyvault.bench.ts. It runs in a child process started with the local
// stack's environment, because NODE_EXTRA_CA_CERTS (the local CA) is read only when Node starts.
// Prints one JSON line: the report.
import { SecretClient } from '@azure/keyvault-secrets';
import { BlobServiceClient } from '@azure/storage-blob';
import { createBlobConnector } from '@keyless/blob';
import { createTokenProvider } from '@keyless/core';
import { createKeyVaultConnector } from '@keyless/keyvault';

export interface MeasureSettings {
  blobRounds: number;
  blobReadsPerRound: number;
  secretFetchRounds: number;
  secretFetchesPerRound: number;
  cachedReads: number;
  container: string;
  blobName: string;
  secretName: string;
}

export interface Series {
  /** Operations per second over all timed operations. */
  opsPerSecond: number;
  meanMicroseconds: number;
  p50Microseconds: number;
  p99Microseconds: number;
  operations: number;
}

export interface MeasureReport {
  blob: { keyless: Series; raw: Series };
  secrets: { keylessCached: Series; keylessUncached: Series; rawGetSecret: Series };
}

const settings = JSON.parse(process.argv[2] ?? '{}') as MeasureSettings;
const accountUrl = process.env.KEYLESS_BLOB_ACCOUNT_URL as string;
const vaultUrl = process.env.KEYLESS_KEYVAULT_URL as string;

const tokenProvider = createTokenProvider();

// Blob: the connector's client against the same SDK client with a token fetched once.
const blobConnector = createBlobConnector({ accountUrl, tokenProvider });
const storageToken = await tokenProvider.getToken('https://storage.azure.com/.default');
const staticStorageCredential = {
  getToken: async () => ({ token: storageToken.token, expiresOnTimestamp: storageToken.expiresOnTimestamp }),
};
const rawBlobService = new BlobServiceClient(accountUrl, staticStorageCredential);
const keylessBlob = blobConnector.containerClient(settings.container).getBlobClient(settings.blobName);
const rawBlob = rawBlobService.getContainerClient(settings.container).getBlobClient(settings.blobName);

// Key Vault: the connector's secret source against SecretClient.getSecret() per call (the SDK's
// defaults, with the same provider and the loopback opt-out the emulator needs).
const keyVaultConnector = createKeyVaultConnector({ vaultUrl, tokenProvider });
const source = keyVaultConnector.secret(settings.secretName);
const rawSecrets = new SecretClient(vaultUrl, tokenProvider, { disableChallengeResourceVerification: true });

type Operation = () => Promise<unknown>;

async function timeEach(operation: Operation, count: number, into: number[]): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const started = process.hrtime.bigint();
    await operation();
    into.push(Number(process.hrtime.bigint() - started) / 1000);
  }
}

/** Alternates contenders round by round (and which goes first) so drift hits both alike. */
async function interleaved(
  contenders: Record<string, Operation>,
  rounds: number,
  perRound: number,
): Promise<Record<string, number[]>> {
  const names = Object.keys(contenders);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (const name of names) await timeEach(contenders[name] as Operation, Math.min(30, perRound), []); // warm-up
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order)
      await timeEach(contenders[name] as Operation, perRound, samples[name] as number[]);
  }
  return samples;
}

function summarise(samples: number[]): Series {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = samples.reduce((sum, value) => sum + value, 0);
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
  return {
    opsPerSecond: samples.length / (total / 1e6),
    meanMicroseconds: total / samples.length,
    p50Microseconds: at(0.5),
    p99Microseconds: at(0.99),
    operations: samples.length,
  };
}

const blobSamples = await interleaved(
  { keyless: () => keylessBlob.downloadToBuffer(), raw: () => rawBlob.downloadToBuffer() },
  settings.blobRounds,
  settings.blobReadsPerRound,
);

const fetchSamples = await interleaved(
  {
    keylessUncached: () => {
      source.invalidate();
      return source.get();
    },
    rawGetSecret: () => rawSecrets.getSecret(settings.secretName),
  },
  settings.secretFetchRounds,
  settings.secretFetchesPerRound,
);

// Cached reads are far below timer resolution one by one: time batches and divide.
await source.get();
const cached: number[] = [];
const batch = 1000;
for (let done = 0; done < settings.cachedReads; done += batch) {
  const started = process.hrtime.bigint();
  for (let index = 0; index < batch; index += 1) await source.get();
  const perRead = Number(process.hrtime.bigint() - started) / 1000 / batch;
  for (let index = 0; index < batch; index += 1) cached.push(perRead);
}

const report: MeasureReport = {
  blob: { keyless: summarise(blobSamples.keyless ?? []), raw: summarise(blobSamples.raw ?? []) },
  secrets: {
    keylessCached: summarise(cached),
    keylessUncached: summarise(fetchSamples.keylessUncached ?? []),
    rawGetSecret: summarise(fetchSamples.rawGetSecret ?? []),
  },
};

await keyVaultConnector.close();
await blobConnector.close();
await tokenProvider.close();
console.log(JSON.stringify(report));
