interface PendingDelay {
  timer: NodeJS.Timeout;
  resolve: () => void;
}

/**
 * The waits an emulator's latency fault puts in front of its answers. `releaseAll()` ends them at
 * once so stop() never waits out a long injected latency, and no timer outlives the server.
 */
export class InjectedLatency {
  readonly #pending = new Set<PendingDelay>();

  wait(milliseconds: number): Promise<void> {
    if (milliseconds <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const pending: PendingDelay = {
        timer: setTimeout(() => {
          this.#pending.delete(pending);
          resolve();
        }, milliseconds),
        resolve,
      };
      this.#pending.add(pending);
    });
  }

  releaseAll(): void {
    for (const pending of this.#pending) {
      clearTimeout(pending.timer);
      pending.resolve();
    }
    this.#pending.clear();
  }
}
