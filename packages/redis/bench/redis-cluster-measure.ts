// The cluster half of redis.bench.ts, run in a child process started with the cluster stack's
// environment. Raw ioredis `Cluster` and raw node-redis `createCluster` with the static password
// (the password user's, as a connection string would hold it) against keyless's two cluster
// factories in both modes, in the same rounds, over TLS to the same nodes (the local cluster has no
// token-expiry gateway). Prints one JSON line: every contender's samples per round — ops/s, and the
// client's CPU time per operation (this process's user + system time over the sample), which the
// load of a shared machine moves far less than the wall clock and which shows any work keyless
// adds per command. Started with --expose-gc: each sample begins after a full collection, so that
// a contender does not pay for the garbage of the one measured before it (the pipelined samples
// spend a quarter of their CPU time in the collector).
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
export type ClusterSamples = Record<ClusterContender, Record<ClusterKind, number[]>>;
export interface ClusterMeasureReport {
  opsPerSecond: ClusterSamples;
  cpuMicrosecondsPerOp: ClusterSamples;
}

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
// BENCH_REDIS_CLUSTER_CONTENDERS=nodeRaw,nodeEntra (say, to profile two): only those are measured.
const chosen = process.env.BENCH_REDIS_CLUSTER_CONTENDERS?.split(',').map((name) => name.trim());
const names = (Object.keys(contenders) as ClusterContender[]).filter(
  (name) => chosen === undefined || chosen.includes(name),
);
const noSamples = () =>
  Object.fromEntries(
    (Object.keys(contenders) as ClusterContender[]).map((name) => [name, { concurrent: [], pipelined: [] }]),
  ) as unknown as ClusterSamples;
const report: ClusterMeasureReport = { opsPerSecond: noSamples(), cpuMicrosecondsPerOp: noSamples() };

// 16 keys over the three shards; the pipeline's one key pins it to one node, as a cluster requires.
const keys = Array.from({ length: settings.concurrency }, (_, index) => `bench:cluster:${index}`);
const operations: Record<ClusterKind, number> = {
  concurrent: settings.concurrentOps,
  pipelined: settings.pipelines * settings.pipelineSize,
};
const measures: Record<ClusterKind, (client: BenchClient) => Promise<number>> = {
  concurrent: (client) => timedLoops(client, settings.concurrentOps, settings.concurrency, keys),
  pipelined: (client) =>
    timedPipelines(client, settings.pipelines, settings.pipelineSize, 'bench:cluster:{pipelined}'),
};

// Warm-up (every node connection open), then rounds. Each library's four contenders are measured
// together, in an order that rotates every round (12 rounds by default: each is first, second, third
// and last three times). Going from one library to the other costs the first contender after the
// switch (its code paths cold again, the other library's garbage): an unrecorded sample of that
// library is run first. Before, one rotation of all eight had the raw client of each library always
// measured right after the other library, and a second raw client measured up to 1.25× the first.
const groups = [
  names.filter((name) => name.startsWith('ioredis')),
  names.filter((name) => name.startsWith('node')),
].filter((group) => group.length > 0);
for (const name of names) {
  const client = contenders[name];
  for (const measure of Object.values(measures)) await measure(client);
}
for (let round = 0; round < settings.rounds; round += 1) {
  for (const kind of Object.keys(measures) as ClusterKind[]) {
    for (const group of groups) {
      const order = group.map((_, index) => group[(index + round) % group.length] as ClusterContender);
      await measures[kind](contenders[order.at(-1) as ClusterContender]);
      for (const name of order) {
        (globalThis as { gc?: () => void }).gc?.();
        const cpuBefore = process.cpuUsage();
        const opsPerSecond = await measures[kind](contenders[name]);
        const cpu = process.cpuUsage(cpuBefore);
        report.opsPerSecond[name][kind].push(opsPerSecond);
        report.cpuMicrosecondsPerOp[name][kind].push((cpu.user + cpu.system) / operations[kind]);
      }
    }
  }
}

ioredisRaw.disconnect();
ioredisControl.disconnect();
nodeRaw.destroy();
nodeControl.destroy();
await Promise.all([ioredisSecret.close(), ioredisEntra.close(), nodeSecret.close(), nodeEntra.close()]);
process.stdout.write(`${JSON.stringify(report)}\n`);
