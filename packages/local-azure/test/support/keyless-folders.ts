import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `start` with the temporary folder (TMPDIR) pointed at a fresh folder of its own, and returns
 * what the launcher left there: other test files start servers in /tmp at the same time, so a
 * before/after listing of /tmp itself saw their folders too. The folder is world-traversable
 * (0755), as /tmp is, because the server may run as another user (postgres).
 */
export async function foldersLeftBy(
  server: 'postgres' | 'redis',
  start: () => Promise<unknown>,
): Promise<string[]> {
  const original = process.env.TMPDIR;
  const privateTemporary = mkdtempSync(join(tmpdir(), 'keyless-test-tmp-'));
  chmodSync(privateTemporary, 0o755);
  process.env.TMPDIR = privateTemporary;
  try {
    await start();
  } finally {
    if (original === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = original;
  }
  const left = readdirSync(privateTemporary).filter((entry) => entry.startsWith(`keyless-${server}-`));
  rmSync(privateTemporary, { recursive: true, force: true });
  return left;
}
