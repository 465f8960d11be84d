import type { KeylessError } from './errors.js';
import type { TokenBackendName } from './provider-options.js';

/** What every token event says. Never the token itself. */
export interface TokenEventBase {
  scope: string;
  backend: TokenBackendName;
  /** e.g. `system-assigned` or `user-assigned client-id 5b0c…`. */
  identity: string;
  tenantId?: string;
}

export interface TokenAcquiredEvent extends TokenEventBase {
  latencyMs: number;
  expiresOnTimestamp: number;
  refreshAtTimestamp: number;
}

export interface TokenRefreshFailedEvent extends TokenEventBase {
  latencyMs: number;
  error: KeylessError;
  /** When the cached token stops being handed out; undefined when none is cached. */
  servingUntilTimestamp: number | undefined;
  /** When the next attempt is scheduled; undefined when no retry will be made. */
  nextAttemptTimestamp: number | undefined;
}

export interface TokenThrottledEvent extends TokenEventBase {
  retryAfterMs: number;
  status: number;
}

/** The events a TokenProvider emits, by name, with what each carries. */
export interface TokenProviderEvents {
  /** First token for a key (a caller was waiting). */
  acquired: TokenAcquiredEvent;
  /** A background refresh replaced a cached token. */
  refreshed: TokenAcquiredEvent;
  /** An attempt failed; says whether a cached token still serves and when the next try is. */
  'refresh-failed': TokenRefreshFailedEvent;
  /** The endpoint answered 429. */
  throttled: TokenThrottledEvent;
}

/** The name of a TokenProvider event. */
export type TokenProviderEventName = keyof TokenProviderEvents;
/** A listener for the TokenProvider event `Name`. */
export type TokenProviderListener<Name extends TokenProviderEventName> = (
  event: TokenProviderEvents[Name],
) => void;

/** A small typed emitter; a throwing listener never breaks token delivery. */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(event: never) => void>>();

  on<Name extends keyof Events>(name: Name, listener: (event: Events[Name]) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => this.off(name, listener);
  }

  off<Name extends keyof Events>(name: Name, listener: (event: Events[Name]) => void): void {
    this.#listeners.get(name)?.delete(listener as (event: never) => void);
  }

  emit<Name extends keyof Events>(name: Name, event: Events[Name]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as (event: Events[Name]) => void)(event);
      } catch {
        // A listener's bug must not turn into a failed token request.
      }
    }
  }

  removeAll(): void {
    this.#listeners.clear();
  }
}
