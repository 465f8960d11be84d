/**
 * A fixed-capacity buffer that keeps the newest `capacity` items: the dashboard's history must not
 * grow with the process's uptime, and dropping the oldest sample is the whole point of "the last
 * few minutes".
 */
export class RingBuffer<Item> {
  readonly capacity: number;
  readonly #items: Item[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a ring buffer needs a whole capacity of at least 1 (got ${capacity})`);
    }
    this.capacity = capacity;
    this.#items = new Array<Item>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(item: Item): void {
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** Oldest first. */
  toArray(): Item[] {
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    const items: Item[] = [];
    for (let index = 0; index < this.#size; index++) {
      items.push(this.#items[(start + index) % this.capacity] as Item);
    }
    return items;
  }

  /** The newest item, if any. */
  last(): Item | undefined {
    return this.#size === 0 ? undefined : this.#items[(this.#next - 1 + this.capacity) % this.capacity];
  }
}
