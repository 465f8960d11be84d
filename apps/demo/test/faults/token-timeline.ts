import type { TokenProvider } from '@keyless/core';

export interface TokenEventRecord {
  type: 'acquired' | 'refreshed' | 'refresh-failed' | 'throttled';
  at: number;
  backend: string;
  scope: string;
  latencyMs?: number;
  expiresOnTimestamp?: number;
  refreshAtTimestamp?: number;
  errorCode?: string;
  retryAfterMs?: number;
}

/** Everything the providers under test said about their tokens, in order. */
export class TokenTimeline {
  readonly events: TokenEventRecord[] = [];
  readonly #unsubscribe: (() => void)[] = [];

  watch(provider: TokenProvider): void {
    const record = (event: TokenEventRecord) => this.events.push(event);
    for (const type of ['acquired', 'refreshed'] as const) {
      this.#unsubscribe.push(
        provider.on(type, (event) =>
          record({
            type,
            at: Date.now(),
            backend: event.backend,
            scope: event.scope,
            latencyMs: event.latencyMs,
            expiresOnTimestamp: event.expiresOnTimestamp,
            refreshAtTimestamp: event.refreshAtTimestamp,
          }),
        ),
      );
    }
    this.#unsubscribe.push(
      provider.on('refresh-failed', (event) =>
        record({
          type: 'refresh-failed',
          at: Date.now(),
          backend: event.backend,
          scope: event.scope,
          latencyMs: event.latencyMs,
          errorCode: event.error.code,
        }),
      ),
      provider.on('throttled', (event) =>
        record({
          type: 'throttled',
          at: Date.now(),
          backend: event.backend,
          scope: event.scope,
          retryAfterMs: event.retryAfterMs,
        }),
      ),
    );
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  count(type: TokenEventRecord['type'], since = 0, until = Number.POSITIVE_INFINITY): number {
    return this.events.filter((event) => event.type === type && event.at >= since && event.at <= until)
      .length;
  }

  /**
   * Whether every (backend, scope) in `tokens` has had a new token at or after `since`: a
   * background refresh, or a fetch by a caller once the old token stopped serving.
   */
  everyTokenRenewedSince(tokens: readonly { backend: string; scope: string }[], since: number): boolean {
    return tokens.every((token) =>
      this.events.some(
        (event) =>
          (event.type === 'refreshed' || event.type === 'acquired') &&
          event.backend === token.backend &&
          event.scope === token.scope &&
          event.at >= since,
      ),
    );
  }
}
