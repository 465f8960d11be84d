import { chownSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SystemUser } from './system-user.js';

/**
 * A private folder under the system temp folder (mode 0700). When the server runs as another
 * user, the folder is handed to that user so the server can create its files in it.
 */
export function createTemporaryFolder(prefix: string, owner?: SystemUser): string {
  const folder = mkdtempSync(join(tmpdir(), `keyless-${prefix}-`));
  if (owner) chownSync(folder, owner.uid, owner.gid);
  return folder;
}

/** Gives every entry below `folder` to `owner` (files we wrote as root for the server to read). */
export function chownRecursively(folder: string, owner: SystemUser): void {
  chownSync(folder, owner.uid, owner.gid);
  for (const entry of readdirSync(folder)) {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) chownRecursively(path, owner);
    else chownSync(path, owner.uid, owner.gid);
  }
}

export function removeFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true, maxRetries: 3 });
}
