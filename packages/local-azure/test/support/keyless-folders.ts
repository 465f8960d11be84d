import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** The launchers' temporary folders that exist right now (other test files may own some). */
export function keylessFolders(server: 'postgres' | 'redis'): string[] {
  return readdirSync(tmpdir()).filter((entry) => entry.startsWith(`keyless-${server}-`));
}
