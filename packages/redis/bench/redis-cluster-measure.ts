// The cluster half of redis.bench.ts, run in a child process started with the cluster stack's
// environment. Raw ioredis `Cluster` and raw node-redis `createCluster` with the static password
// (the password user's, as a connection string would hold it) against keyless's two cluster
// factories in both modes, in the same rounds, over TLS to the same nodes (the local cluster has no
// token-expiry gateway). Prints one JSON line: every contender's samples per round.
import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { createNodeRedisClusterConnector, createRedisClusterConnector } from '@keyless/redis';
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import {
  type BenchClient,
  ioredisBenchClient,
  nodeRedisBenchClient,
  timedLoops,
  timedPipelines,
} from './redis-client-adapters.ts';

export interface ClusterMeasureSettings {
  rounds: number;
  concurrentOps: number;
  concurrency: number;
  pipelines: number;
  pipelineSize: number;
}

/** `*Control` is a second raw cluster client of the same library: the run's noise floor. */
export type ClusterContender =
  | 'ioredisRaw'
  | 'ioredisControl'
  | 'ioredisSecret'
  | 'ioredisEntra'
  | 'nodeRaw'
  | 'nodeControl'
  | 'nodeSecret'
  | 'nodeEntra';
export type ClusterKind = 'concurrent' | 'pipelined';
export type ClusterMeasureReport = Record<ClusterContender, Record<ClusterKind, number[]>>;

const settings = JSON.parse(process.argv[2] ?? '{}') as ClusterMeasureSettings;
const nodes = (process.env.KEYLESS_REDIS_CLUSTER_NODES as string).split(',');
const seeds = nodes.map((node) => {
  const [host, port] = node.split(':');
  return { host: host as string, port: Number(port) };
});
const user = process.env.KEYLESS_REDIS_USER;
const password = process.env.BENCH_REDIS_PASSWORD as string;

const ioredisSecret = createRedisClusterConnector({ nodes, password: fromKeyVaultSecret(), user });
const ioredisEntra = createRedisClusterConnector({ nodes, password: entraToken() });
const nodeSecret = createNodeRedisClusterConnector({ nodes, password: fromKeyVaultSecret(), user });
const nodeEntra = createNodeRedisClusterConnector({ nodes, password: entraToken() });
await Promise.all([
  ioredisSecret.connect(),
  ioredisEntra.connect(),
  nodeSecret.connect(),
  nodeEntra.connect(),
]);
// As keyless's: no INFO ready check on the node connections.
const rawIoredis = () =>
  new Cluster(seeds, { redisOptions: { tls: {}, username: user, password, enableReadyCheck: false } });
const rawNodeRedis = () =>
  createCluster({
    rootNodes: seeds.map((seed) => ({ socket: seed })),
    defaults: { username: user, password, socket: { tls: true } },
  }).connect();
const ioredisRaw = rawIoredis();
const ioredisControl = rawIoredis();
const [nodeRaw, nodeControl] = await Promise.all([rawNodeRedis(), rawNodeRedis()]);

const contenders: Record<ClusterContender, BenchClient> = {
  ioredisRaw: ioredisBenchClient(ioredisRaw),
  ioredisControl: ioredisBenchClient(ioredisControl),
  ioredisSecret: ioredisBenchClient(ioredisSecret.client),
  ioredisEntra: ioredisBenchClient(ioredisEntra.client),
  nodeRaw: nodeRedisBenchClient(nodeRaw),
  nodeControl: nodeRedisBenchClient(nodeControl),
  nodeSecret: nodeRedisBenchClient(nodeSecret.client),
  nodeEntra: nodeRedisBenchClient(nodeEntra.client),
};
const names = Object.keys(contenders) as ClusterContender[];
const report = Object.fromEntries(
  names.map((name) => [name, { concurrent: [], pipelined: [] }]),
) as unknown as ClusterMeasureReport;

// 16 keys over the three shards; the pipeline's one key pins it to one node, as a cluster requires.
const keys = Array.from({ length: settings.concurrency }, (_, index) => `bench:cluster:${index}`);
const measures: Record<ClusterKind, (client: BenchClient) => Promise<number>> = {
  concurrent: (client) => timedLoops(client, settings.concurrentOps, settings.concurrency, keys),
  pipelined: (client) =>
    timedPipelines(client, settings.pipelines, settings.pipelineSize, 'bench:cluster:{pipelined}'),
};

// Warm-up (every node connection open), then rounds in a rotating order.
for (const client of Object.values(contenders)) {
  for (const measure of Object.values(measures)) await measure(client);
}
for (let round = 0; round < settings.rounds; round += 1) {
  const order = names.map((_, index) => names[(index + round) % names.length] as ClusterContender);
  for (const kind of Object.keys(measures) as ClusterKind[]) {
    for (const name of order) report[name][kind].push(await measures[kind](contenders[name]));
  }
}

ioredisRaw.disconnect();
ioredisControl.disconnect();
nodeRaw.destroy();
nodeControl.destroy();
await Promise.all([ioredisSecret.close(), ioredisEntra.close(), nodeSecret.close(), nodeEntra.close()]);
process.stdout.write(`${JSON.stringify(report)}\n`);
