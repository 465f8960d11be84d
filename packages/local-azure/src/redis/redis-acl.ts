import { createHash } from 'node:crypto';

/**
 * ACL passwords go to Redis only as SHA-256 hashes (`#<hash>` adds, `!<hash>` removes): Redis
 * stores them that way anyway, and a plaintext in a command could come back in an error reply
 * or sit in the ACL file.
 */
export function aclPasswordHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

export const adminUserName = 'keyless-admin';

/** One ACL user: its password hashes and its rules. */
export interface AclUser {
  hashes: readonly string[];
  rules: readonly string[];
}

/**
 * The ACL file redis-server loads at every start, rendered from the launcher's state: that is how
 * users, rotated passwords and still-valid tokens survive restart() although nothing is saved.
 */
export function renderAclFile(users: ReadonlyMap<string, AclUser>): string {
  // Without a password nobody can be `default`: every client must AUTH as a named user.
  const lines = ['user default off resetpass nocommands resetkeys resetchannels'];
  for (const [name, user] of users) {
    lines.push(['user', name, 'on', ...user.hashes.map((hash) => `#${hash}`), ...user.rules].join(' '));
  }
  return `${lines.join('\n')}\n`;
}

/** Redis user names are single words in the ACL file. */
export function assertAclUserName(name: string): void {
  if (!/^[^\s#<>!@%~&+-][^\s]*$/.test(name))
    throw new Error(`unusable Redis ACL user name: ${JSON.stringify(name)}`);
}
