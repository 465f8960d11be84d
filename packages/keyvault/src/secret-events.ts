import type { KeylessError } from '@keyless/core';

/** A new version was cached. Carries versions only: never the value. */
export interface SecretChangeEvent {
  name: string;
  /** undefined for the first value the source caches. */
  previousVersion: string | undefined;
  version: string;
}

/** A fetch failed. `servingLastGood`: get() keeps answering with the value cached before. */
export interface SecretRefreshFailedEvent {
  name: string;
  error: KeylessError;
  servingLastGood: boolean;
}

export interface SecretSourceEvents {
  change: SecretChangeEvent;
  'refresh-failed': SecretRefreshFailedEvent;
}

/** A small typed emitter; a throwing listener never breaks secret delivery. */
export class SecretEventEmitter {
  readonly #listeners = new Map<keyof SecretSourceEvents, Set<(event: never) => void>>();

  on<Name extends keyof SecretSourceEvents>(
    name: Name,
    listener: (event: SecretSourceEvents[Name]) => void,
  ): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => {
      this.#listeners.get(name)?.delete(listener as (event: never) => void);
    };
  }

  emit<Name extends keyof SecretSourceEvents>(name: Name, event: SecretSourceEvents[Name]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (event: SecretSourceEvents[Name]) => void)(event);
      } catch {
        // A listener's bug must not turn into a failed secret read.
      }
    }
  }

  removeAll(): void {
    this.#listeners.clear();
  }
}
