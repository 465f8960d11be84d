import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function waitForOutput(
  child: ChildProcess,
  output: { text: string },
  pattern: RegExp,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = output.text.match(pattern);
      if (match) resolve(match);
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) =>
      reject(new Error(`the demo exited (${code}) before printing ${pattern}:\n${output.text}`)),
    );
  });
}

describe('pnpm start (dist/main.js, local mode)', () => {
  it('prints progress and the URL, serves, and shuts down cleanly on SIGTERM', async () => {
    const output = { text: '' };
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        KEYLESS_DEMO_STATE_FOLDER: process.env.KEYLESS_TEST_STATE_FOLDER,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk) => {
      output.text += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output.text += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const [, url] = await waitForOutput(child, output, /keyless demo: (http:\/\/127\.0\.0\.1:\d+)/);
    expect(output.text).toMatch(/postgres\s+ready/);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output.text).toContain('server closed: done');
    expect(output.text).toContain('connectors closed: done');
    expect(output.text).toContain('local stack stopped: done');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(output.text).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/);
  }, 60_000);
});
