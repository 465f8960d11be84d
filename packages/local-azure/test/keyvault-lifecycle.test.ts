import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startIdentityEndpoint, startKeyVaultEmulator } from '../src/index.js';
import { startKeyVaultStack } from './support/key-vault-stack.js';

const runFile = promisify(execFile);

describe('Key Vault emulator lifecycle', () => {
  it('stop() lets the process exit: no server, keep-alive socket or latency timer left behind', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/key-vault-stop-then-exit.mjs', import.meta.url));
    // If anything kept the event loop alive the child would hang and the timeout would kill it.
    const { stdout } = await runFile(process.execPath, [fixture], { timeout: 20_000 });
    expect(stdout).toContain('stopped; first request: answered 200; pending request: connection closed');
  });

  it('stop() is idempotent and refuses connections afterwards', async () => {
    const stack = await startKeyVaultStack();
    await Promise.all([stack.vault.stop(), stack.vault.stop()]);
    await expect(fetch(stack.vault.url)).rejects.toThrow();
    await stack.stop();
  });

  it('refuses options without an identity or TLS material, naming them', async () => {
    const identity = await startIdentityEndpoint();
    try {
      await expect(
        startKeyVaultEmulator({ identity, tls: { cert: '', key: undefined as unknown as string } }),
      ).rejects.toThrow(/options\.tls/);
      await expect(
        startKeyVaultEmulator({ identity: {} as never, tls: { cert: 'x', key: 'y' } }),
      ).rejects.toThrow(/options\.identity/);
    } finally {
      await identity.stop();
    }
  });

  it('seeds through the admin path, refusing bad names and deleted-but-recoverable ones', async () => {
    const stack = await startKeyVaultStack();
    try {
      const first = stack.vault.setSecret('seeded', 'one');
      const second = stack.vault.setSecret('seeded', 'two', { tags: { rotated: 'yes' } });
      expect(first.version).toMatch(/^[0-9a-f]{32}$/);
      expect(second.version).not.toBe(first.version);
      expect(() => stack.vault.setSecret('bad name', 'x')).toThrow(/invalid name/);
      expect(() => stack.vault.assignRole('', 'Key Vault Secrets User')).toThrow(/principalId/);
      expect(() => stack.vault.assignRole('someone', 'Owner' as never)).toThrow(/role must be one of/);
      expect(stack.vault.secretValues()).toEqual(['one', 'two']);
    } finally {
      await stack.stop();
    }
  });
});
