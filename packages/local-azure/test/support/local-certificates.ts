import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalCertificateAuthority, type LocalCertificateAuthority } from '../../src/index.js';

/** A fresh local CA in its own state folder; `remove()` deletes it. */
export async function createTestCertificateAuthority(): Promise<
  LocalCertificateAuthority & { remove(): void }
> {
  const stateFolder = mkdtempSync(join(tmpdir(), 'keyless-test-ca-'));
  const authority = await ensureLocalCertificateAuthority(stateFolder);
  return { ...authority, remove: () => rmSync(stateFolder, { recursive: true, force: true }) };
}
