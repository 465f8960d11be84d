// The measuring half of redis.bench.ts, run in a child process started with the stack's environment
// (NODE_EXTRA_CA_CERTS must be set before Node starts, for the Key Vault emulator's TLS). Prints one
// JSON line: every contender's samples per round. The raw contender uses the same password as a
// static string, as an app with a connection string would, over the same port (and so through the
// same token-expiry gateway of the local stack) as keyless.
import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { createRedisConnector } from '@keyless/redis';
import { Redis } from 'ioredis';

export interface MeasureSettings {
  rounds: number;
  sequentialOps: number;
  concurrentOps: number;
  concurrency: number;
  pipelines: number;
  pipelineSize: number;
}

/** `control` is a second raw client: how far two identical clients differ in this run (the noise floor). */
export type Contender = 'raw' | 'control' | 'secret' | 'entra';
export type Kind = 'sequential' | 'concurrent' | 'pipelined';
/** Operations per second, one sample per round, by contender and kind. */
export type MeasureReport = Record<Contender, Record<Kind, number[]>>;

const settings = JSON.parse(process.argv[2] ?? '{}') as MeasureSettings;
const host = process.env.KEYLESS_REDIS_HOST as string;
const port = Number(process.env.KEYLESS_REDIS_TLS_PORT);

const secretConnector = createRedisConnector({
  host,
  port,
  tls: true,
  password: fromKeyVaultSecret(),
  user: process.env.KEYLESS_REDIS_USER,
});
const entraConnector = createRedisConnector({ host, port, tls: true, password: entraToken() });
// Connected before the warm-up, as the raw client is by its first command.
await Promise.all([secretConnector.connect(), entraConnector.connect()]);
const rawClient = () =>
  new Redis({
    host,
    port,
    tls: {},
    username: process.env.KEYLESS_REDIS_USER,
    password: process.env.BENCH_REDIS_PASSWORD as string,
    // As keyless: no INFO ready check.
    enableReadyCheck: false,
  });
const raw = rawClient();
const control = rawClient();

const contenders: Record<Contender, Redis> = {
  raw,
  control,
  secret: secretConnector.client,
  entra: entraConnector.client,
};
const names = Object.keys(contenders) as Contender[];
const samples = (): Record<Kind, number[]> => ({ sequential: [], concurrent: [], pipelined: [] });
const report: MeasureReport = { raw: samples(), control: samples(), secret: samples(), entra: samples() };

async function loops(client: Redis, operations: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < operations) {
        next += 1;
        await client.incr('bench:incr');
      }
    }),
  );
  return operations / ((performance.now() - started) / 1000);
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

const measures: Record<Kind, (client: Redis) => Promise<number>> = {
  sequential: (client) => loops(client, settings.sequentialOps, 1),
  concurrent: (client) => loops(client, settings.concurrentOps, settings.concurrency),
  pipelined,
};

// Warm-up, then rounds in a rotating order so that no contender always runs first.
for (const client of Object.values(contenders)) {
  for (const measure of Object.values(measures)) await measure(client);
}
for (let round = 0; round < settings.rounds; round += 1) {
  const order = names.map((_, index) => names[(index + round) % names.length] as Contender);
  for (const kind of Object.keys(measures) as Kind[]) {
    for (const name of order) report[name][kind].push(await measures[kind](contenders[name]));
  }
}

raw.disconnect();
control.disconnect();
await secretConnector.close();
await entraConnector.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
