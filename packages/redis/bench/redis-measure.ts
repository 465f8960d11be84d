// The measuring half of redis.bench.ts, run in a child process started with the stack's environment
// (NODE_EXTRA_CA_CERTS must be set before Node starts, for the Key Vault emulator's TLS). Prints one
// JSON line: every contender's samples per round. The raw contender uses the same password as a
// static string, as an app with a connection string would, over the same port (and so through the
// same token-expiry gateway of the local stack) as keyless. node-redis's contenders are measured
// the same way, in the same rounds: raw node-redis with the static password against
// createNodeRedisConnector() in both modes.
import { createTokenProvider } from '@keyless/core';
import { createNodeRedisConnector, createRedisConnector } from '@keyless/redis';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { measureInterleavedRounds, type OpenContender, type RoundsReport } from './interleaved-rounds.ts';
import { keylessContender, keylessPassword } from './keyless-contenders.ts';
import {
  ioredisBenchClient,
  nodeRedisBenchClient,
  timedLoops,
  timedPipelines,
} from './redis-client-adapters.ts';

export interface MeasureSettings {
  rounds: number;
  /** Every contender's connection is opened afresh every this many rounds. */
  renewEvery: number;
  sequentialOps: number;
  concurrentOps: number;
  concurrency: number;
  pipelines: number;
  pipelineSize: number;
}

/** `control` / `nodeControl`: a second raw client of the library, how far two identical clients differ (the noise floor). */
export type Contender =
  | 'raw'
  | 'control'
  | 'secret'
  | 'entra'
  | 'nodeRaw'
  | 'nodeControl'
  | 'nodeSecret'
  | 'nodeEntra';
export type Kind = 'sequential' | 'concurrent' | 'pipelined';
/** Per contender and kind, one sample per round: ops/s and the client's CPU µs per operation. */
export type MeasureReport = RoundsReport<Contender, Kind>;

const settings = JSON.parse(process.argv[2] ?? '{}') as MeasureSettings;
const host = process.env.KEYLESS_REDIS_HOST as string;
const port = Number(process.env.KEYLESS_REDIS_TLS_PORT);

const tokenProvider = createTokenProvider();
const user = process.env.KEYLESS_REDIS_USER;
const password = process.env.BENCH_REDIS_PASSWORD as string;
const ioredisConnector = (mode: 'secret' | 'entra') =>
  keylessContender(
    () => createRedisConnector({ host, port, tls: true, ...keylessPassword(mode, user, tokenProvider) }),
    ioredisBenchClient,
  );
const nodeRedisConnector = (mode: 'secret' | 'entra') =>
  keylessContender(
    () => createNodeRedisConnector({ host, port, tls: true, ...keylessPassword(mode, user, tokenProvider) }),
    nodeRedisBenchClient,
  );
const rawIoredis = async (): Promise<OpenContender> => {
  // As keyless: no INFO ready check.
  const client = new Redis({ host, port, tls: {}, username: user, password, enableReadyCheck: false });
  return { client: ioredisBenchClient(client), close: async () => client.disconnect() };
};
const rawNodeRedis = async (): Promise<OpenContender> => {
  const client = await createClient({
    socket: { host, port, tls: true },
    username: user,
    password,
  }).connect();
  return { client: nodeRedisBenchClient(client), close: async () => client.destroy() };
};

const openers: Record<Contender, () => Promise<OpenContender>> = {
  raw: rawIoredis,
  control: rawIoredis,
  secret: ioredisConnector('secret'),
  entra: ioredisConnector('entra'),
  nodeRaw: rawNodeRedis,
  nodeControl: rawNodeRedis,
  nodeSecret: nodeRedisConnector('secret'),
  nodeEntra: nodeRedisConnector('entra'),
};
const names = Object.keys(openers) as Contender[];
const report: MeasureReport = await measureInterleavedRounds({
  openers,
  groups: [names.filter((name) => !name.startsWith('node')), names.filter((name) => name.startsWith('node'))],
  measures: {
    sequential: {
      operations: settings.sequentialOps,
      run: (client) => timedLoops(client, settings.sequentialOps, 1, ['bench:incr']),
    },
    concurrent: {
      operations: settings.concurrentOps,
      run: (client) => timedLoops(client, settings.concurrentOps, settings.concurrency, ['bench:incr']),
    },
    pipelined: {
      operations: settings.pipelines * settings.pipelineSize,
      run: (client) => timedPipelines(client, settings.pipelines, settings.pipelineSize, 'bench:pipelined'),
    },
  },
  rounds: settings.rounds,
  renewEvery: settings.renewEvery,
});
await tokenProvider.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
