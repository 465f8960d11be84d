import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KeylessError, REDACTED } from '../src/index.js';
import { maxErrorTextLength, type RedactionMeter, redactText, redactTextCounting } from '../src/internal.js';

// The pattern redactText used before it became a linear scan: the reference for what a JWT is.
const referenceJwtPattern = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

function pseudoRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Inputs that made the old JWT pattern re-read the rest of the text at every `eyJ`. */
const adversarialShapes: Record<string, (size: number) => string> = {
  'eyJ repeated, no dot': (size) => 'eyJ'.repeat(size / 3),
  'eyJ then one long part': (size) => `eyJ${'a'.repeat(size)}`,
  'many short parts': (size) => 'a.'.repeat(size / 2),
  'eyJ parts one dot apart': (size) => 'eyJab.'.repeat(size / 6),
  'Bearer repeated': (size) => 'Bearer '.repeat(size / 7),
  'password= repeated': (size) => 'password='.repeat(size / 9),
};

describe('redactText does work linear in its input', () => {
  it('redacts exactly what the old pattern matched, on 2,000 random texts', () => {
    const random = pseudoRandom(17);
    const alphabet = ['e', 'y', 'J', '.', 'a', 'b', '-', '_', ' ', '0', 'eyJ', 'eyJabcd.', 'abcd.'];
    for (let sample = 0; sample < 2000; sample += 1) {
      let text = '';
      const pieces = Math.floor(random() * 40);
      for (let piece = 0; piece < pieces; piece += 1)
        text += alphabet[Math.floor(random() * alphabet.length)];
      expect(redactText(text), JSON.stringify(text)).toBe(text.replace(referenceJwtPattern, REDACTED));
    }
  });

  it.each(Object.entries(adversarialShapes))(
    '%s: at most 4 steps per character, at 10 KB and 1 MB',
    (_name, shape) => {
      for (const size of [10_000, 1_000_000]) {
        const text = shape(size);
        const meter: RedactionMeter = { steps: 0 };
        redactTextCounting(text, meter);
        expect(meter.steps).toBeLessThanOrEqual(4 * text.length + 16);
      }
    },
  );
});

describe('keyless errors keep a bounded message', () => {
  it('cuts a 140 KB driver message (and its cause) to the bound, counting what was left out', () => {
    const echoed = `invalid input syntax for type integer: "${'x'.repeat(140_000)}"`;
    const cause = new Error(echoed);
    const error = new KeylessError('configuration', echoed, { cause });
    expect(error.message.length).toBeLessThan(maxErrorTextLength + 100);
    expect(error.message).toMatch(/… \(\d+ more characters\)$/);
    const keptCause = error.cause as Error;
    expect(keptCause).toBeInstanceOf(Error);
    expect(keptCause.message.length).toBeLessThan(maxErrorTextLength + 100);
    expect(String(keptCause.stack).length).toBeLessThan(3 * maxErrorTextLength);
    expect(inspect(error, { depth: 4 }).length).toBeLessThan(6 * maxErrorTextLength);
  });
});
