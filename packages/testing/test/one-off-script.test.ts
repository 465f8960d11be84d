import { describe, expect, it } from 'vitest';
import { runOneOffScript } from '../src/index.js';

const folder = process.cwd();

describe('runOneOffScript, the harness for "a script must settle and exit"', () => {
  it('reports how main() settled and a clean exit', async () => {
    const result = await runOneOffScript(folder, 'async function main() { return 42; }');
    expect(result.settled).toBe('resolved 42');
    expect(result.exitCode).toBe(0);
    expect(result.stillAlive).toBeUndefined();
  });

  it('names the error class and code of a rejection', async () => {
    const result = await runOneOffScript(
      folder,
      `async function main() { throw Object.assign(new TypeError('x'), { code: 'authentication-failed' }); }`,
    );
    expect(result.settled).toBe('rejected TypeError authentication-failed');
  });

  it('catches the hang that exits 0: main() never settles and nothing keeps the loop alive', async () => {
    const result = await runOneOffScript(folder, 'async function main() { await new Promise(() => {}); }');
    expect(result.settled).toBeUndefined();
    expect(result.exitCode).toBe(0);
  });

  it('catches what close() left behind: the process still alive a second later', async () => {
    const result = await runOneOffScript(folder, 'async function main() { setInterval(() => {}, 60_000); }');
    expect(result.settled).toBe('resolved null');
    expect(result.exitCode).toBe(3);
    expect(result.stillAlive).toMatch(/Timeout/);
  });
});
