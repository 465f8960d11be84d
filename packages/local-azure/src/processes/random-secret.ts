import { randomBytes } from 'node:crypto';

/** 32 random bytes as base64url: safe in config files, SQL literals and URLs without escaping. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}
