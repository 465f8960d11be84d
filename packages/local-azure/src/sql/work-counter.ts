/**
 * Counts the elementary steps of the statement matcher (one per character read, one per token
 * looked at), so tests can prove the work is linear in the input instead of timing it.
 */
export class WorkCounter {
  #steps = 0;

  get steps(): number {
    return this.#steps;
  }

  add(steps = 1): void {
    this.#steps += steps;
  }
}
