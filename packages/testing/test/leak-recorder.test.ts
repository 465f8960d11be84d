import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { leaksIn, runOneOffScript } from '../src/index.js';

const packageFolder = fileURLToPath(new URL('..', import.meta.url));
const leakRecorderModule = new URL('../src/leak-recorder.ts', import.meta.url).href;

describe('leaksIn', () => {
  it('finds a secret sent as latin1, or as UTF-16LE at either byte alignment, by name', () => {
    const secret = 'not-a-real-password-42';
    const utf16 = Buffer.from(secret, 'utf16le');
    for (const bytes of [
      Buffer.concat([Buffer.from('prefix '), Buffer.from(secret, 'latin1')]),
      Buffer.concat([Buffer.from([1, 2]), utf16]),
      Buffer.concat([Buffer.from([1]), utf16, Buffer.from([3])]),
    ]) {
      expect(leaksIn(bytes, { 'the password': secret, 'another secret': 'absent' })).toEqual([
        'the password',
      ]);
    }
  });

  it('reads the shifted (odd-length, odd-address) view without corrupting the heap (Node 24.21, nodejs/node#64697)', async () => {
    // Before the fix, decoding the shifted view of random even-length captures crashed Node within
    // a few thousand calls ("double free or corruption"); a crash ends the process unsettled.
    const result = await runOneOffScript(
      packageFolder,
      `import { randomBytes } from 'node:crypto';
import { leaksIn } from ${JSON.stringify(leakRecorderModule)};
async function main() {
  let found = 0;
  for (let round = 0; round < 20000; round += 1) {
    found += leaksIn(randomBytes(2 + 2 * Math.floor(Math.random() * 2500)), { secret: 'never there' }).length;
  }
  return found;
}`,
    );
    expect(result.settled).toBe('resolved 0');
    expect(result.exitCode).toBe(0);
  });
});
