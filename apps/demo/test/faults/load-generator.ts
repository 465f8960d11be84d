import { isKeylessError } from '@keyless/core';
import { redactKnownSecrets } from '@keyless/core/internal';

/** One kind of operation the load runs, e.g. `postgres-query`. */
export interface LoadLane {
  readonly kind: string;
  /** Which connector set it runs on (the token backend), so a report can tell two apps apart. */
  readonly backend: string;
  run(): Promise<unknown>;
}

export type LoadPhase = 'warm-up' | 'fault' | 'recovery';

export interface OperationFailure {
  /** The keyless error code, or `untyped:<name>` for anything that is not a KeylessError, or `timeout`. */
  code: string;
  typed: boolean;
  /** Redacted and shortened, for the JSON report only. */
  message: string;
}

export interface OperationOutcome {
  kind: string;
  backend: string;
  phase: LoadPhase;
  startedAt: number;
  durationMs: number;
  failure: OperationFailure | undefined;
}

export interface LoadOptions {
  /** Every tick starts one operation on every lane. */
  tickMs: number;
  /** A lane whose operations have not come back skips ticks beyond this many in flight. */
  maxInFlightPerLane: number;
  /** An operation that has not settled by then counts as failed (`timeout`): a hang is a failure. */
  operationTimeoutMs: number;
}

/**
 * A steady load: every tick, one operation per lane, each with a timeout, every outcome recorded
 * with the phase it started in. Lanes run concurrently; a slow lane never holds up the others.
 */
export class LoadGenerator {
  readonly outcomes: OperationOutcome[] = [];
  /** Ticks a lane skipped because it already had `maxInFlightPerLane` operations out. */
  readonly skippedTicks = new Map<string, number>();
  /** Ticks a lane skipped because a fault held its kind (see `hold`). */
  readonly heldTicks = new Map<string, number>();
  phase: LoadPhase = 'warm-up';
  readonly #lanes: readonly LoadLane[];
  readonly #options: LoadOptions;
  /** Each lane's operations in flight, with the time each started. */
  readonly #inFlight = new Map<LoadLane, Map<Promise<void>, number>>();
  readonly #held = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(lanes: readonly LoadLane[], options: LoadOptions) {
    this.#lanes = lanes;
    this.#options = options;
    for (const lane of lanes) this.#inFlight.set(lane, new Map());
  }

  /**
   * Lanes of `kind` start nothing until `release(kind)`: for a fault that must begin between two
   * operations (e.g. a server that goes away with no session open), not in the middle of one.
   */
  hold(kind: string): void {
    this.#held.add(kind);
  }

  release(kind: string): void {
    this.#held.delete(kind);
  }

  /** Operations of `kind` in flight that started before `before` (all of them by default). */
  inFlight(kind: string, before = Number.POSITIVE_INFINITY): number {
    let count = 0;
    for (const [lane, operations] of this.#inFlight) {
      if (lane.kind !== kind) continue;
      for (const startedAt of operations.values()) if (startedAt < before) count += 1;
    }
    return count;
  }

  start(): void {
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#options.tickMs);
  }

  /** Stops starting operations and waits for those in flight (each is bounded by its timeout). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#inFlight.values()].flatMap((operations) => [...operations.keys()]));
  }

  /** Whether every lane has had a success since `since` (a warm-up or a recovery is complete). */
  everyLaneSucceededSince(since: number): boolean {
    return this.#lanes.every((lane) =>
      this.outcomes.some(
        (outcome) =>
          outcome.kind === lane.kind &&
          outcome.backend === lane.backend &&
          outcome.failure === undefined &&
          outcome.startedAt >= since,
      ),
    );
  }

  #tick(): void {
    for (const lane of this.#lanes) {
      const operations = this.#inFlight.get(lane) as Map<Promise<void>, number>;
      const key = `${lane.backend}/${lane.kind}`;
      if (this.#held.has(lane.kind)) {
        this.heldTicks.set(key, (this.heldTicks.get(key) ?? 0) + 1);
        continue;
      }
      if (operations.size >= this.#options.maxInFlightPerLane) {
        this.skippedTicks.set(key, (this.skippedTicks.get(key) ?? 0) + 1);
        continue;
      }
      const operation = this.#runOnce(lane).finally(() => operations.delete(operation));
      operations.set(operation, Date.now());
    }
  }

  async #runOnce(lane: LoadLane): Promise<void> {
    const phase = this.phase;
    const startedAt = Date.now();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OperationTimeout()), this.#options.operationTimeoutMs);
    });
    let failure: OperationFailure | undefined;
    try {
      await Promise.race([lane.run(), timeout]);
    } catch (error) {
      failure = describeFailure(error);
    } finally {
      clearTimeout(timer);
    }
    this.outcomes.push({
      kind: lane.kind,
      backend: lane.backend,
      phase,
      startedAt,
      durationMs: Math.round(performance.now() - started),
      failure,
    });
  }
}

class OperationTimeout extends Error {
  override readonly name = 'OperationTimeout';
}

function describeFailure(error: unknown): OperationFailure {
  const message = redactKnownSecrets(error instanceof Error ? error.message : String(error)).slice(0, 200);
  if (error instanceof OperationTimeout) return { code: 'timeout', typed: false, message };
  if (isKeylessError(error)) return { code: error.code, typed: true, message };
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | undefined)?.code;
  return { code: `untyped:${name}${typeof code === 'string' ? `/${code}` : ''}`, typed: false, message };
}
