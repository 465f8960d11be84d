import type { TokenProvider } from '@keyless/core';
import { RingBuffer } from './ring-buffer.js';

/** One thing the token provider said about a token: never the token itself. */
export interface TokenTimelineEvent {
  type: 'acquired' | 'refreshed' | 'refresh-failed' | 'throttled';
  at: number;
  scope: string;
  backend: string;
  latencyMs?: number;
  /** The keyless error code of a failed refresh. */
  errorCode?: string;
  retryAfterMs?: number;
}

/** An identity-endpoint outage started from the page: `end` is when it ends (or ended early). */
export interface OutagePeriod {
  start: number;
  end: number;
}

/**
 * What the token timeline plots: the provider's events (acquisitions, background refreshes,
 * failed refreshes, throttles) and the outages started from the page. The app swaps providers on
 * a backend switch, so `watch()` moves the subscription to the new one.
 */
export class TokenTimeline {
  readonly #events: RingBuffer<TokenTimelineEvent>;
  readonly #outages = new RingBuffer<OutagePeriod>(20);
  readonly #totals = new Map<string, number>();
  #unsubscribe: Array<() => void> = [];

  constructor(capacity = 1_000) {
    this.#events = new RingBuffer(capacity);
  }

  watch(provider: TokenProvider): void {
    this.stop();
    const record = (event: TokenTimelineEvent) => {
      this.#events.push(event);
      this.#totals.set(event.scope, (this.#totals.get(event.scope) ?? 0) + 1);
    };
    for (const type of ['acquired', 'refreshed'] as const) {
      this.#unsubscribe.push(
        provider.on(type, (event) =>
          record({
            type,
            at: Date.now(),
            scope: event.scope,
            backend: event.backend,
            latencyMs: Math.round(event.latencyMs),
          }),
        ),
      );
    }
    this.#unsubscribe.push(
      provider.on('refresh-failed', (event) =>
        record({
          type: 'refresh-failed',
          at: Date.now(),
          scope: event.scope,
          backend: event.backend,
          latencyMs: Math.round(event.latencyMs),
          errorCode: event.error.code,
        }),
      ),
      provider.on('throttled', (event) =>
        record({
          type: 'throttled',
          at: Date.now(),
          scope: event.scope,
          backend: event.backend,
          retryAfterMs: event.retryAfterMs,
        }),
      ),
    );
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  /**
   * Every request the provider made to the identity endpoint for `scope` since the start (each
   * event is one answer or failure): what the plot shows in Azure mode, where there is no endpoint
   * counter to read.
   */
  requestsFor(scope: string): number {
    return this.#totals.get(scope) ?? 0;
  }

  outageStarted(start: number, end: number): void {
    this.#outages.push({ start, end });
  }

  /** Ends the open outage now (the page's "end it early"). */
  outageEnded(at: number): void {
    const open = this.#outages.last();
    if (open && open.end > at) open.end = at;
  }

  eventsSince(since: number): TokenTimelineEvent[] {
    return this.#events.toArray().filter((event) => event.at >= since);
  }

  outagesSince(since: number): OutagePeriod[] {
    return this.#outages
      .toArray()
      .filter((outage) => outage.end >= since)
      .map((outage) => ({ ...outage }));
  }
}
