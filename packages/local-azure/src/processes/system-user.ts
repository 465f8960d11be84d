import { readFileSync } from 'node:fs';

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Reads /etc/passwd directly: Node has no getpwnam, and spawning `id` for it is slower. */
export function lookupSystemUser(name: string): SystemUser | undefined {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [userName, , uid, gid] = line.split(':');
    if (userName === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  return undefined;
}

/**
 * initdb and postgres refuse to run as root. As root we run them as the `postgres` system user
 * the Debian package creates; as anyone else, as ourselves.
 */
export function unprivilegedUserForPostgres(): SystemUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = lookupSystemUser('postgres');
  if (!user) {
    throw new Error(
      'running as root, and PostgreSQL refuses root: no `postgres` system user to run it as (apt-get install -y postgresql creates one)',
    );
  }
  return user;
}
