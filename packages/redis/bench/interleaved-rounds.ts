// How redis-measure.ts (standalone) and redis-cluster-measure.ts (cluster) take their samples: the
// contenders' connections renewed every few rounds, each library's contenders in a rotating order,
// every sample after a full GC, and for each sample the ops/s and the client's CPU time per
// operation.
import type { BenchClient } from './redis-client-adapters.ts';

/** One contender's connection (or cluster client) for a stretch of rounds, and how to end it. */
export interface OpenContender {
  client: BenchClient;
  close(): Promise<void>;
}

/** One timed sample: runs `operations` operations on the client and returns ops/s. */
export interface Measure {
  operations: number;
  run(client: BenchClient): Promise<number>;
}

/** Samples per contender and kind: ops/s, and the client's CPU µs per operation (user + system). */
export interface RoundsReport<Name extends string, Kind extends string> {
  opsPerSecond: Record<Name, Record<Kind, number[]>>;
  cpuMicrosecondsPerOp: Record<Name, Record<Kind, number[]>>;
}

/**
 * Each contender's connection, opened afresh every `renewEvery` rounds (untimed, and warmed with
 * one sample of each measure before it counts). Why: a connection keeps its own speed for its whole
 * life — four identical raw ioredis connections measured in the same rotating rounds had medians up
 * to 6 % apart (pipelined) however many rounds were taken — so with one connection per contender a
 * ratio is partly the luck of two connections. Renewing spreads each contender over many.
 */
class RenewedContenders<Name extends string> {
  readonly #openers: Record<Name, () => Promise<OpenContender>>;
  readonly #warmUp: (client: BenchClient) => Promise<void>;
  #open = new Map<Name, OpenContender>();

  constructor(
    openers: Record<Name, () => Promise<OpenContender>>,
    warmUp: (client: BenchClient) => Promise<void>,
  ) {
    this.#openers = openers;
    this.#warmUp = warmUp;
  }

  client(name: Name): BenchClient {
    const open = this.#open.get(name);
    if (open === undefined) throw new Error(`bench: ${name} is not open`);
    return open.client;
  }

  async renew(): Promise<void> {
    await this.close();
    for (const name of Object.keys(this.#openers) as Name[]) {
      const open = await this.#openers[name]();
      this.#open.set(name, open);
      await this.#warmUp(open.client);
    }
  }

  async close(): Promise<void> {
    const open = [...this.#open.values()];
    this.#open = new Map();
    await Promise.all(open.map((contender) => contender.close()));
  }
}

/**
 * `rounds` rounds of every measure. In each, every group's contenders (one group per client
 * library) are measured in an order that rotates every round, so each takes every position equally
 * often; an unrecorded sample of the group comes first (the first sample after the other library
 * pays for cold code paths and the other library's garbage: one rotation of all contenders had each
 * library's raw client always right after the other library, and a second raw client measured up
 * to 1.25× the first). Every sample starts after a full GC (when Node runs with --expose-gc), so no
 * contender pays for the previous one's garbage. Many short samples rather than a few long ones: a
 * sample's speed moves with the machine's scheduling whatever its length, and the median of
 * hundreds holds still where a median of 12 did not.
 */
export async function measureInterleavedRounds<Name extends string, Kind extends string>(options: {
  openers: Record<Name, () => Promise<OpenContender>>;
  /** The contenders measured, one group per client library. */
  groups: readonly (readonly Name[])[];
  measures: Record<Kind, Measure>;
  rounds: number;
  renewEvery: number;
}): Promise<RoundsReport<Name, Kind>> {
  const { openers, groups, measures, rounds, renewEvery } = options;
  const kinds = Object.keys(measures) as Kind[];
  // Every contender has a (maybe empty) entry; only those in a group are opened and measured.
  const empty = () =>
    Object.fromEntries(
      (Object.keys(openers) as Name[]).map((name) => [
        name,
        Object.fromEntries(kinds.map((kind) => [kind, [] as number[]])),
      ]),
    ) as Record<Name, Record<Kind, number[]>>;
  const report: RoundsReport<Name, Kind> = { opsPerSecond: empty(), cpuMicrosecondsPerOp: empty() };
  const measured = Object.fromEntries(groups.flat().map((name) => [name, openers[name]])) as Record<
    Name,
    () => Promise<OpenContender>
  >;
  const contenders = new RenewedContenders(measured, async (client) => {
    for (const kind of kinds) await measures[kind].run(client);
  });
  try {
    for (let round = 0; round < rounds; round += 1) {
      if (round % renewEvery === 0) await contenders.renew();
      for (const kind of kinds) {
        const measure = measures[kind];
        for (const group of groups.filter((members) => members.length > 0)) {
          const order = group.map((_, index) => group[(index + round) % group.length] as Name);
          await measure.run(contenders.client(order.at(-1) as Name));
          for (const name of order) {
            (globalThis as { gc?: () => void }).gc?.();
            const cpuBefore = process.cpuUsage();
            const opsPerSecond = await measure.run(contenders.client(name));
            const cpu = process.cpuUsage(cpuBefore);
            report.opsPerSecond[name][kind].push(opsPerSecond);
            report.cpuMicrosecondsPerOp[name][kind].push((cpu.user + cpu.system) / measure.operations);
          }
        }
      }
    }
  } finally {
    await contenders.close();
  }
  return report;
}
