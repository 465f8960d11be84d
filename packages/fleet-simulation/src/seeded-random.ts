import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A seeded source of numbers in [0, 1), with the distributions the simulation draws from. */
export class SeededRandom {
  readonly #generator: ReturnType<typeof xoroshiro128plus>;

  /** `stream` separates independent sequences drawn from one scenario seed. */
  constructor(seed: number, stream: number) {
    this.#generator = xoroshiro128plus(mixSeed(seed, stream));
  }

  /** For APIs that take a `() => number` (keyless's jitter). */
  readonly next = (): number => uniformFloat64(this.#generator);

  uniform(minimum: number, maximum: number): number {
    return minimum + (maximum - minimum) * this.next();
  }

  /** Spread evenly over orders of magnitude: most answers fast, a tail of slow ones. */
  logUniform(minimum: number, maximum: number): number {
    return Math.exp(this.uniform(Math.log(minimum), Math.log(maximum)));
  }

  /** Waiting time of a Poisson process with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Number of events of a Poisson process in an interval whose expected count is `mean`. */
  poisson(mean: number): number {
    // Knuth's method: fine for the small means a minute of one process's workload has.
    const limit = Math.exp(-mean);
    let count = 0;
    let product = this.next();
    while (product > limit) {
      count += 1;
      product *= this.next();
    }
    return count;
  }
}

/** Spreads (seed, stream) pairs over 32 bits so neighbouring streams do not start alike. */
function mixSeed(seed: number, stream: number): number {
  let value = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream | 0, 0x85ebca6b)) >>> 0;
  value = Math.imul(value ^ (value >>> 16), 0x7feb352d) >>> 0;
  value = Math.imul(value ^ (value >>> 15), 0x846ca68b) >>> 0;
  return (value ^ (value >>> 16)) | 0;
}
