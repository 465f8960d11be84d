// The two operations the throughput benches time, for each client library: one INCR, and a pipeline
// of INCRs on one key (one slot, so that a cluster sends it to one node). Shared by
// redis-measure.ts (standalone) and redis-cluster-measure.ts (cluster).
import type { Cluster, Redis } from 'ioredis';

export interface BenchClient {
  incr(key: string): Promise<unknown>;
  pipeline(key: string, size: number): Promise<unknown>;
}

/** ioredis, standalone or Cluster: `pipeline()` … `exec()`. */
export function ioredisBenchClient(client: Redis | Cluster): BenchClient {
  return {
    incr: (key) => client.incr(key),
    pipeline: (key, size) => {
      const pipeline = client.pipeline();
      for (let index = 0; index < size; index += 1) pipeline.incr(key);
      return pipeline.exec();
    },
  };
}

/** The part of a node-redis client or cluster the bench uses. */
interface NodeRedisLike {
  incr(key: string): Promise<unknown>;
  multi(): { incr(key: string): unknown; execAsPipeline(): Promise<unknown> };
}

/** node-redis, client or cluster: `multi()` … `execAsPipeline()` (no MULTI/EXEC, one write). */
export function nodeRedisBenchClient(client: unknown): BenchClient {
  const target = client as NodeRedisLike;
  return {
    incr: (key) => target.incr(key),
    pipeline: (key, size) => {
      const batch = target.multi();
      for (let index = 0; index < size; index += 1) batch.incr(key);
      return batch.execAsPipeline();
    },
  };
}

/** `operations` INCRs, `concurrency` in flight at once; ops/s. `keys` spreads them (over slots, in a cluster). */
export async function timedLoops(
  client: BenchClient,
  operations: number,
  concurrency: number,
  keys: readonly string[],
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      const key = keys[loop % keys.length] as string;
      while (next < operations) {
        next += 1;
        await client.incr(key);
      }
    }),
  );
  return operations / ((performance.now() - started) / 1000);
}

/** `pipelines` pipelines of `size` INCRs, one after the other; ops/s. */
export async function timedPipelines(
  client: BenchClient,
  pipelines: number,
  size: number,
  key: string,
): Promise<number> {
  const started = performance.now();
  for (let batch = 0; batch < pipelines; batch += 1) await client.pipeline(key, size);
  return (pipelines * size) / ((performance.now() - started) / 1000);
}
