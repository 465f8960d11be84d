import type { Clock } from '@keyless/core/internal';
import type { EventOwner, ScheduledEvent, VirtualTime } from './virtual-time.js';

/**
 * One app process's view of the fleet's virtual time. keyless keeps one token cache per Clock
 * object ("one cache per process"), so every simulated process gets its own. When the process
 * stops, its timers die with it and its sleeps never wake, like a killed process's.
 */
export class ProcessClock implements Clock, EventOwner {
  readonly #time: VirtualTime;
  #stopped = false;

  constructor(time: VirtualTime) {
    this.#time = time;
  }

  now(): number {
    return this.#time.now();
  }

  setTimer(callback: () => void, delayMs: number): ScheduledEvent | undefined {
    if (this.#stopped) return undefined;
    return this.#time.after(delayMs, callback, this);
  }

  clearTimer(handle: unknown): void {
    if (handle !== undefined) this.#time.cancel(handle as ScheduledEvent);
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(resolve, delayMs);
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  stop(): void {
    this.#stopped = true;
  }
}
