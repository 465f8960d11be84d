import { execFileSync } from 'node:child_process';
import type { RedisVersion } from './redis-access-policy.js';

/**
 * The version of a redis-server binary (`Redis server v=7.0.15 sha=…`). ACL rules must only name
 * commands that version knows; when the answer cannot be read, 6.0 (the oldest with ACLs) is
 * assumed, which only leaves out rules for newer commands.
 */
export function redisServerVersion(binary: string): RedisVersion {
  try {
    const output = execFileSync(binary, ['--version'], {
      encoding: 'utf8',
      timeout: 5_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    });
    const match = /\bv=(\d+)\.(\d+)/.exec(output);
    if (match) return { major: Number(match[1]), minor: Number(match[2]) };
  } catch {
    // Assume the oldest version below.
  }
  return { major: 6, minor: 0 };
}
