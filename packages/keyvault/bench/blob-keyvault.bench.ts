// Blob and Key Vault through keyless against the raw SDK clients, in the same run against the same
// local stack. The measuring runs in a child process (blob-keyvault-measure.ts) started with the
// stack's environment: NODE_EXTRA_CA_CERTS must be set before Node starts, and BlobServiceClient
// has no option to trust a CA otherwise. Prints a table and writes bench-results/blob-keyvault.json
// at the repository root. `pnpm bench` runs it; Node strips the types, so there is no build step.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startLocalAzure } from '@keyless/local-azure';
import { row as benchRow, median, writeBenchResults } from '../../../scripts/bench-results.mjs';
import type { MeasureReport, MeasureSettings, Series } from './blob-keyvault-measure.ts';

const settings: MeasureSettings = {
  blobRounds: Number(process.env.BENCH_BLOB_ROUNDS ?? 40),
  blobReadsPerRound: Number(process.env.BENCH_BLOB_READS_PER_ROUND ?? 50),
  secretFetchRounds: Number(process.env.BENCH_SECRET_ROUNDS ?? 20),
  secretFetchesPerRound: Number(process.env.BENCH_SECRET_FETCHES_PER_ROUND ?? 30),
  cachedReads: Number(process.env.BENCH_CACHED_READS ?? 200_000),
  container: 'keyless-demo',
  blobName: 'hello.txt',
  secretName: 'demo-message',
};
const goals = { blobOverheadPercentAtMost: 2, cachedSecretTimesCheaperAtLeast: 1000 };
const coldStarts = Number(process.env.BENCH_KEYVAULT_COLD_STARTS ?? 21);
const backends = ['azure-identity', 'msal'] as const;
const coldContenders = ['raw', 'keyless'] as const;

const stateFolder = mkdtempSync(join(tmpdir(), 'keyless-bench-'));
const stack = await startLocalAzure({
  services: ['blob', 'keyvault'],
  stateFolder,
  onProgress: (event) => process.stderr.write(`${event.service}: ${event.phase}\n`),
});
let report: MeasureReport;
let coldSamples: Record<string, number[]> = {};
try {
  process.stderr.write('measuring…\n');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [fileURLToPath(new URL('./blob-keyvault-measure.ts', import.meta.url)), JSON.stringify(settings)],
    { env: { ...process.env, ...stack.env }, maxBuffer: 16 * 1024 * 1024 },
  );
  report = JSON.parse(stdout.trim().split('\n').at(-1) as string) as MeasureReport;
  process.stderr.write(`measuring cold starts, ${coldStarts} rounds…\n`);
  coldSamples = await measureColdStarts(stack.env);
} finally {
  await stack.stop();
  rmSync(stateFolder, { recursive: true, force: true });
}

const row = (contender: string, series: Series) => ({
  contender,
  'ops/s': Math.round(series.opsPerSecond),
  'mean µs': series.meanMicroseconds.toFixed(2),
  'p50 µs': series.p50Microseconds.toFixed(2),
  'p99 µs': series.p99Microseconds.toFixed(2),
  operations: series.operations,
});
console.log(`\nBlob reads and Key Vault secret reads, keyless vs the raw SDK (Node ${process.version})\n`);
console.table([
  row('blob download: keyless connector', report.blob.keyless),
  row('blob download: raw client, static token', report.blob.raw),
  row('secret: keyless get(), cached', report.secrets.keylessCached),
  row('secret: keyless get() after invalidate()', report.secrets.keylessUncached),
  row('secret: raw SecretClient.getSecret()', report.secrets.rawGetSecret),
]);

const blobOverheadPercent = (report.blob.raw.opsPerSecond / report.blob.keyless.opsPerSecond - 1) * 100;
const blobAddedMicroseconds = report.blob.keyless.meanMicroseconds - report.blob.raw.meanMicroseconds;
const blobAddedMicrosecondsP50 = report.blob.keyless.p50Microseconds - report.blob.raw.p50Microseconds;
const cachedTimesCheaper =
  report.secrets.rawGetSecret.meanMicroseconds / report.secrets.keylessCached.meanMicroseconds;
const uncachedVsRaw =
  report.secrets.keylessUncached.meanMicroseconds / report.secrets.rawGetSecret.meanMicroseconds;
const results = {
  blobOpsPerSecondRatio: Number((report.blob.keyless.opsPerSecond / report.blob.raw.opsPerSecond).toFixed(4)),
  blobOverheadPercent: Number(blobOverheadPercent.toFixed(2)),
  blobAddedMicrosecondsPerOp: Number(blobAddedMicroseconds.toFixed(1)),
  blobAddedMicrosecondsPerOpAtP50: Number(blobAddedMicrosecondsP50.toFixed(1)),
  cachedSecretTimesCheaperThanGetSecret: Math.round(cachedTimesCheaper),
  uncachedSecretTimeRelativeToGetSecret: Number(uncachedVsRaw.toFixed(3)),
};
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
console.log(
  `Blob: keyless runs at ${(results.blobOpsPerSecondRatio * 100).toFixed(1)}% of the raw client's ops/s ` +
    `(${results.blobOverheadPercent}% overhead, ${results.blobAddedMicrosecondsPerOp} µs added per read on average, ` +
    `${results.blobAddedMicrosecondsPerOpAtP50} µs at p50) — goal ≤ ${goals.blobOverheadPercentAtMost}%: ` +
    `${verdict(results.blobOverheadPercent <= goals.blobOverheadPercentAtMost)}`,
);
console.log(
  `Secrets: a cached get() is ${results.cachedSecretTimesCheaperThanGetSecret.toLocaleString('en')}× cheaper than ` +
    `SecretClient.getSecret() — goal ≥ ${goals.cachedSecretTimesCheaperAtLeast.toLocaleString('en')}×: ` +
    `${verdict(results.cachedSecretTimesCheaperThanGetSecret >= goals.cachedSecretTimesCheaperAtLeast)}`,
);
console.log(
  `Secrets: an uncached get() (after invalidate()) takes ${results.uncachedSecretTimeRelativeToGetSecret}× the time of a raw getSecret()`,
);

const folder = join(dirname(fileURLToPath(import.meta.url)), '../../../bench-results');
mkdirSync(folder, { recursive: true });
const file = join(folder, 'blob-keyvault.json');
writeFileSync(
  file,
  `${JSON.stringify({ node: process.version, settings, goals, results, report }, null, 2)}\n`,
);
console.log(`\nwritten to ${file}`);

/**
 * Cold process → first secret value, keyless against the raw SDK doing the same work with the same
 * backend (keyvault-cold-start.ts): fresh processes, rounds interleaving the contenders and
 * alternating their order, so a busy machine slows them alike; medians.
 */
async function measureColdStarts(stackEnvironment: Readonly<Record<string, string>>) {
  const child = fileURLToPath(new URL('./keyvault-cold-start.ts', import.meta.url));
  const samples: Record<string, number[]> = {};
  for (let round = 0; round < coldStarts; round += 1) {
    for (const backend of backends) {
      const order = round % 2 === 0 ? coldContenders : [...coldContenders].reverse();
      for (const contender of order) {
        const { stdout } = await promisify(execFile)(process.execPath, [child, contender], {
          env: {
            ...process.env,
            ...stackEnvironment,
            KEYLESS_TOKEN_PROVIDER: backend,
            BENCH_SECRET_NAME: settings.secretName,
          },
          timeout: 60_000,
        });
        const sample = JSON.parse(stdout.trim().split('\n').at(-1) as string) as { milliseconds: number };
        const key = `${contender}/${backend}`;
        samples[key] = [...(samples[key] ?? []), sample.milliseconds];
      }
    }
  }
  return samples;
}

// The cold-start rows in the shared format (bench-results/keyvault.json), which docs/benchmarks.md
// renders; the throughput figures above keep their own file.
writeBenchResults(
  fileURLToPath(new URL('../../../', import.meta.url)),
  'keyvault',
  'Key Vault (@keyless/keyvault vs SecretClient)',
  [
    {
      title: 'Cold process → first secret value (time since process start)',
      rows: backends.map((backend) =>
        benchRow({
          measure: `cold process → first secret, ${backend}`,
          unit: 'ms',
          raw: Math.round(median(coldSamples[`raw/${backend}`] ?? [])),
          keyless: Math.round(median(coldSamples[`keyless/${backend}`] ?? [])),
          better: 'lower',
          goal: 1.1,
          rawLabel: `${backend === 'msal' ? 'ManagedIdentityApplication' : 'ManagedIdentityCredential'} + SecretClient.getSecret (CommonJS builds, as keyless loads them)`,
          keylessLabel: 'createKeyVaultConnector().secret(name).get()',
          note: `median of ${coldStarts} fresh processes each, interleaved; both load the libraries' CommonJS builds (keyvault-cold-start.ts says why)`,
        }),
      ),
    },
  ],
);
