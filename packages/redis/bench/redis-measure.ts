// The measuring half of redis.bench.ts, run in a child process started with the stack's environment
// (NODE_EXTRA_CA_CERTS must be set before Node starts, for the Key Vault emulator's TLS). Prints one
// JSON line. The raw contender uses the same password as a static string, as an app with a
// connection string would.
import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { createRedisConnector } from '@keyless/redis';
import { Redis } from 'ioredis';

export interface MeasureSettings {
  rounds: number;
  sequentialOps: number;
  pipelines: number;
  pipelineSize: number;
}

export interface ContenderResult {
  sequentialOpsPerSecond: number;
  pipelinedOpsPerSecond: number;
}

export type MeasureReport = Record<'raw' | 'keylessSecret' | 'keylessEntra', ContenderResult>;

const settings = JSON.parse(process.argv[2] ?? '{}') as MeasureSettings;
const host = process.env.KEYLESS_REDIS_HOST as string;
const port = Number(process.env.KEYLESS_REDIS_TLS_PORT);

const secretConnector = createRedisConnector({
  host,
  port,
  tls: true,
  password: fromKeyVaultSecret({ secretName: 'redis-password' }),
  user: 'keyless-app',
});
const entraConnector = createRedisConnector({ host, port, tls: true, password: entraToken() });
// Connected before the warm-up, as the raw client is by its first command.
await Promise.all([secretConnector.connect(), entraConnector.connect()]);
const raw = new Redis({
  host,
  port,
  tls: {},
  username: 'keyless-app',
  password: process.env.BENCH_REDIS_PASSWORD as string,
});

const contenders = { raw, keylessSecret: secretConnector.client, keylessEntra: entraConnector.client };
const samples: Record<keyof MeasureReport, { sequential: number[]; pipelined: number[] }> = {
  raw: { sequential: [], pipelined: [] },
  keylessSecret: { sequential: [], pipelined: [] },
  keylessEntra: { sequential: [], pipelined: [] },
};

async function sequential(client: Redis): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < settings.sequentialOps; index += 1) await client.incr('bench:sequential');
  return settings.sequentialOps / ((performance.now() - started) / 1000);
}

async function pipelined(client: Redis): Promise<number> {
  const started = performance.now();
  for (let batch = 0; batch < settings.pipelines; batch += 1) {
    const pipeline = client.pipeline();
    for (let index = 0; index < settings.pipelineSize; index += 1) pipeline.incr('bench:pipelined');
    await pipeline.exec();
  }
  return (settings.pipelines * settings.pipelineSize) / ((performance.now() - started) / 1000);
}

// Warm-up, then rounds in a rotating order so no contender always runs first.
for (const client of Object.values(contenders)) {
  await sequential(client);
  await pipelined(client);
}
const names = Object.keys(contenders) as (keyof MeasureReport)[];
for (let round = 0; round < settings.rounds; round += 1) {
  const order = names.map((_, index) => names[(index + round) % names.length] as keyof MeasureReport);
  for (const name of order) {
    samples[name].sequential.push(await sequential(contenders[name]));
    samples[name].pipelined.push(await pipelined(contenders[name]));
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const report = Object.fromEntries(
  names.map((name) => [
    name,
    {
      sequentialOpsPerSecond: median(samples[name].sequential),
      pipelinedOpsPerSecond: median(samples[name].pipelined),
    },
  ]),
) as MeasureReport;

raw.disconnect();
await secretConnector.close();
await entraConnector.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
