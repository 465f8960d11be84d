import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('the demo (README quick start, first command)', () => {
  it('fetches a token with both backends, prints audience, backend and expiry, and never the token', () => {
    const result = spawnSync(process.execPath, [demo], { encoding: 'utf8', timeout: 60_000 });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.signal).toBeNull();
    expect(result.status).toBe(0);
    for (const backend of ['azure-identity', 'msal']) {
      expect(output).toContain(`backend:      ${backend}`);
    }
    expect(output.match(/audience: {5}https:\/\/storage\.azure\.com/g)).toHaveLength(2);
    expect(output.match(/expires: {6}\d{4}-\d\d-\d\dT/g)).toHaveLength(2);
    expect(output).toContain('1 to the endpoint for 101 getToken calls');
    expect(output).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/); // no JWT anywhere
    expect(output).toContain('identity endpoint stopped');
  });
});
