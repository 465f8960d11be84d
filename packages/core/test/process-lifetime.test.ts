import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('timers', () => {
  it('never keep the process alive: a script that holds a cached token and never closes exits by itself', () => {
    const script = `
      import { createTokenProvider } from ${JSON.stringify(builtEntry)};
      const backend = {
        name: 'msal',
        identity: { kind: 'system-assigned' },
        fetchToken: async () => ({ token: 'opaque', expiresOnTimestamp: Date.now() + 3_600_000 }),
      };
      // random 0: no refresh jitter, so the refresh time is exactly expiry − 5 min.
      const provider = createTokenProvider({ environment: {} }, { backend, random: () => 0 });
      const token = await provider.getToken('https://storage.azure.com/.default');
      console.log('refresh scheduled in', Math.round((token.refreshAfterTimestamp - Date.now()) / 60000), 'min');
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull(); // not killed by the timeout
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('refresh scheduled in 55 min');
  });
});
