// The measuring half of redis.bench.ts, run in a child process started with the stack's environment
// (NODE_EXTRA_CA_CERTS must be set before Node starts, for the Key Vault emulator's TLS). Prints one
// JSON line: every contender's samples per round. The raw contender uses the same password as a
// static string, as an app with a connection string would, over the same port (and so through the
// same token-expiry gateway of the local stack) as keyless. node-redis's contenders are measured
// the same way, in the same rounds: raw node-redis with the static password against
// createNodeRedisConnector() in both modes.
import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { createNodeRedisConnector, createRedisConnector } from '@keyless/redis';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import {
  type BenchClient,
  ioredisBenchClient,
  nodeRedisBenchClient,
  timedLoops,
  timedPipelines,
} from './redis-client-adapters.ts';

export interface MeasureSettings {
  rounds: number;
  sequentialOps: number;
  concurrentOps: number;
  concurrency: number;
  pipelines: number;
  pipelineSize: number;
}

/** `control` is a second raw client: how far two identical clients differ in this run (the noise floor). */
export type Contender = 'raw' | 'control' | 'secret' | 'entra' | 'nodeRaw' | 'nodeSecret' | 'nodeEntra';
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
const nodeSecretConnector = createNodeRedisConnector({
  host,
  port,
  tls: true,
  password: fromKeyVaultSecret(),
  user: process.env.KEYLESS_REDIS_USER,
});
const nodeEntraConnector = createNodeRedisConnector({ host, port, tls: true, password: entraToken() });
// Connected before the warm-up, as the raw client is by its first command.
await Promise.all([
  secretConnector.connect(),
  entraConnector.connect(),
  nodeSecretConnector.connect(),
  nodeEntraConnector.connect(),
]);
const nodeRaw = await createClient({
  socket: { host, port, tls: true },
  username: process.env.KEYLESS_REDIS_USER,
  password: process.env.BENCH_REDIS_PASSWORD as string,
}).connect();
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

const contenders: Record<Contender, BenchClient> = {
  raw: ioredisBenchClient(raw),
  control: ioredisBenchClient(control),
  secret: ioredisBenchClient(secretConnector.client),
  entra: ioredisBenchClient(entraConnector.client),
  nodeRaw: nodeRedisBenchClient(nodeRaw),
  nodeSecret: nodeRedisBenchClient(nodeSecretConnector.client),
  nodeEntra: nodeRedisBenchClient(nodeEntraConnector.client),
};
const names = Object.keys(contenders) as Contender[];
const samples = (): Record<Kind, number[]> => ({ sequential: [], concurrent: [], pipelined: [] });
const report = Object.fromEntries(names.map((name) => [name, samples()])) as MeasureReport;

const measures: Record<Kind, (client: BenchClient) => Promise<number>> = {
  sequential: (client) => timedLoops(client, settings.sequentialOps, 1, ['bench:incr']),
  concurrent: (client) => timedLoops(client, settings.concurrentOps, settings.concurrency, ['bench:incr']),
  pipelined: (client) => timedPipelines(client, settings.pipelines, settings.pipelineSize, 'bench:pipelined'),
};

// Warm-up, then rounds. Each library's clients are measured together in an order that rotates
// every round (12 rounds by default: every ioredis client in each of its 4 positions 3 times, every
// node-redis one in each of its 3 positions 4 times), after an unrecorded sample of that library
// (the first sample after the other library pays for cold code paths), and each sample starts after
// a full GC (started with --expose-gc): a client does not pay for the previous one's garbage. One
// rotation of all seven had the raw ioredis client always measured right after node-redis, and
// node-redis's raw client right after ioredis (see redis-cluster-measure.ts).
const groups = [
  names.filter((name) => !name.startsWith('node')),
  names.filter((name) => name.startsWith('node')),
];
for (const client of Object.values(contenders)) {
  for (const measure of Object.values(measures)) await measure(client);
}
for (let round = 0; round < settings.rounds; round += 1) {
  for (const kind of Object.keys(measures) as Kind[]) {
    for (const group of groups) {
      const order = group.map((_, index) => group[(index + round) % group.length] as Contender);
      await measures[kind](contenders[order.at(-1) as Contender]);
      for (const name of order) {
        (globalThis as { gc?: () => void }).gc?.();
        report[name][kind].push(await measures[kind](contenders[name]));
      }
    }
  }
}

raw.disconnect();
control.disconnect();
nodeRaw.destroy();
await secretConnector.close();
await entraConnector.close();
await nodeSecretConnector.close();
await nodeEntraConnector.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
