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
import { createTokenProvider } from '@keyless/core';
import { createNodeRedisClusterConnector, createRedisClusterConnector } from '@keyless/redis';
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { measureInterleavedRounds, type OpenContender, type RoundsReport } from './interleaved-rounds.ts';
import { keylessContender, keylessPassword } from './keyless-contenders.ts';
import {
  ioredisBenchClient,
  nodeRedisBenchClient,
  timedLoops,
  timedPipelines,
} from './redis-client-adapters.ts';

export interface ClusterMeasureSettings {
  rounds: number;
  /** Every contender's cluster client is opened afresh every this many rounds. */
  renewEvery: number;
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
export type ClusterMeasureReport = RoundsReport<ClusterContender, ClusterKind>;

const settings = JSON.parse(process.argv[2] ?? '{}') as ClusterMeasureSettings;
const nodes = (process.env.KEYLESS_REDIS_CLUSTER_NODES as string).split(',');
const seeds = nodes.map((node) => {
  const [host, port] = node.split(':');
  return { host: host as string, port: Number(port) };
});
const user = process.env.KEYLESS_REDIS_USER;
const password = process.env.BENCH_REDIS_PASSWORD as string;

const tokenProvider = createTokenProvider();
const keylessIoredis = (mode: 'secret' | 'entra') =>
  keylessContender(
    () => createRedisClusterConnector({ nodes, ...keylessPassword(mode, user, tokenProvider) }),
    ioredisBenchClient,
  );
const keylessNodeRedis = (mode: 'secret' | 'entra') =>
  keylessContender(
    () => createNodeRedisClusterConnector({ nodes, ...keylessPassword(mode, user, tokenProvider) }),
    nodeRedisBenchClient,
  );
// As keyless's: no INFO ready check on the node connections.
const rawIoredis = async (): Promise<OpenContender> => {
  const client = new Cluster(seeds, {
    redisOptions: { tls: {}, username: user, password, enableReadyCheck: false },
  });
  return { client: ioredisBenchClient(client), close: async () => client.disconnect() };
};
const rawNodeRedis = async (): Promise<OpenContender> => {
  const client = await createCluster({
    rootNodes: seeds.map((seed) => ({ socket: seed })),
    defaults: { username: user, password, socket: { tls: true } },
  }).connect();
  return { client: nodeRedisBenchClient(client), close: async () => client.destroy() };
};
const openers: Record<ClusterContender, () => Promise<OpenContender>> = {
  ioredisRaw: rawIoredis,
  ioredisControl: rawIoredis,
  ioredisSecret: keylessIoredis('secret'),
  ioredisEntra: keylessIoredis('entra'),
  nodeRaw: rawNodeRedis,
  nodeControl: rawNodeRedis,
  nodeSecret: keylessNodeRedis('secret'),
  nodeEntra: keylessNodeRedis('entra'),
};
// BENCH_REDIS_CLUSTER_CONTENDERS=nodeRaw,nodeEntra (say, to profile two): only those are measured.
const chosen = process.env.BENCH_REDIS_CLUSTER_CONTENDERS?.split(',').map((name) => name.trim());
const names = (Object.keys(openers) as ClusterContender[]).filter(
  (name) => chosen === undefined || chosen.includes(name),
);
// 16 keys over the three shards; the pipeline's one key pins it to one node, as a cluster requires.
const keys = Array.from({ length: settings.concurrency }, (_, index) => `bench:cluster:${index}`);
// Each library's four contenders rotate among themselves (measureInterleavedRounds says how and
// why); every contender's cluster client is opened afresh (and warmed: every node connection open)
// every `renewEvery` rounds; only the contenders measured are opened.
const report: ClusterMeasureReport = await measureInterleavedRounds({
  openers,
  groups: [
    names.filter((name) => name.startsWith('ioredis')),
    names.filter((name) => name.startsWith('node')),
  ],
  measures: {
    concurrent: {
      operations: settings.concurrentOps,
      run: (client) => timedLoops(client, settings.concurrentOps, settings.concurrency, keys),
    },
    pipelined: {
      operations: settings.pipelines * settings.pipelineSize,
      run: (client) =>
        timedPipelines(client, settings.pipelines, settings.pipelineSize, 'bench:cluster:{pipelined}'),
    },
  },
  rounds: settings.rounds,
  renewEvery: settings.renewEvery,
});
await tokenProvider.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
