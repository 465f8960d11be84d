/**
 * A wait that `cancel()` ends early. The timer is not unref'd: a script that awaits a restart
 * must not exit half-way through it.
 */
export class Downtime {
  #pending: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  wait(milliseconds: number): Promise<void> {
    this.cancel();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        resolve();
      }, milliseconds);
      this.#pending = { timer, resolve };
    });
  }

  cancel(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.resolve();
  }
}
