import FlatQueue from 'flatqueue';

/** Whose timer an event is: a stopped process's events are dropped when they come up. */
export interface EventOwner {
  readonly stopped: boolean;
}

/** One scheduled callback. Cancelling clears it; the queue drops it when it comes up. */
export interface ScheduledEvent {
  readonly at: number;
  callback: (() => void) | undefined;
  readonly owner: EventOwner | undefined;
}

/**
 * The fleet's one virtual time: a priority queue of events by time. ManualClock scans every timer
 * per step, which is fine for one process and far too slow for a thousand; this keeps each step at
 * O(log n). Events at the same instant fire in an order that is arbitrary but the same every run.
 */
export class VirtualTime {
  #now: number;
  #firedEvents = 0;
  readonly #events = new FlatQueue<ScheduledEvent>();

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Events fired so far (for the run's statistics). */
  get firedEvents(): number {
    return this.#firedEvents;
  }

  schedule(at: number, callback: () => void, owner?: EventOwner): ScheduledEvent {
    const event: ScheduledEvent = { at: Math.max(at, this.#now), callback, owner };
    this.#events.push(event, event.at);
    return event;
  }

  after(delayMs: number, callback: () => void, owner?: EventOwner): ScheduledEvent {
    return this.schedule(this.#now + Math.max(0, delayMs), callback, owner);
  }

  cancel(event: ScheduledEvent): void {
    event.callback = undefined;
  }

  /**
   * Fires every event due by `until`, in time order. After each one, the promise chains it started
   * run to the end before time moves on, so an awaited answer is handled at the virtual instant it
   * arrived.
   */
  async runUntil(until: number): Promise<void> {
    // From here on this runs as a promise job, which is what drainPromiseJobs relies on.
    await Promise.resolve();
    await drainPromiseJobs();
    const events = this.#events;
    while (events.length > 0 && (events.peekValue() as number) <= until) {
      const next = events.pop() as ScheduledEvent;
      const callback = next.callback;
      if (callback === undefined || next.owner?.stopped) continue;
      next.callback = undefined;
      this.#now = next.at;
      this.#firedEvents += 1;
      callback();
      await drainPromiseJobs();
      // Now and then let the event loop turn, so the test runner's own messages (and a Ctrl-C)
      // are not starved for the whole run.
      if (this.#firedEvents % eventsBetweenYields === 0)
        await new Promise((resolve) => setImmediate(resolve));
    }
    this.#now = Math.max(this.#now, until);
    await drainPromiseJobs();
  }
}

const eventsBetweenYields = 10_000;

/**
 * Resolves once every pending promise job has run. Called from a promise job, Node runs
 * process.nextTick callbacks only after the promise-job queue is empty, including jobs queued while
 * it drains; the simulation itself never uses nextTick, timers or I/O, so nothing else can be
 * waiting. (setImmediate would do the same at five times the cost, which matters over millions of
 * events.)
 */
export function drainPromiseJobs(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}
