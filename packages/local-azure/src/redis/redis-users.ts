import { decodeJwt } from 'jose';
import type { IssuedTokenEvent } from '../identity/identity-types.js';
import { randomSecret } from '../processes/random-secret.js';
import type { PasswordJudge } from './authentication-tracker.js';
import { EntraTokenPasswords } from './entra-token-passwords.js';
import {
  adminUserRules,
  applicationUserRules,
  type RedisAccessPolicyName,
  type RedisVersion,
} from './redis-access-policy.js';
import { type AclUser, aclPasswordHash, adminUserName, assertAclUserName } from './redis-acl.js';
import type { RedisEntraUser, RedisPasswordUser } from './redis-types.js';
import { redisEntraResources } from './redis-types.js';

/** What the users are made from: the launcher options both `startRedis()` and `startRedisCluster()` take. */
export interface RedisUserOptions {
  users?: readonly RedisPasswordUser[];
  entraUsers?: readonly RedisEntraUser[];
  accessPolicy?: RedisAccessPolicyName;
}

/** An `ACL SETUSER …` command's arguments, to send to every server that has the user. */
export type AclSetUserArguments = readonly string[];

/**
 * The ACL state of one Redis deployment, standalone or cluster: the launcher's admin user, the
 * password users with their current password, the Entra users with every still-valid token, and
 * each one's rules. A server's ACL file is rendered from it at every (re)start; changes return the
 * ACL SETUSER to send to every running server, since ACL is per node in a Redis Cluster.
 */
export class RedisUsers {
  readonly adminPassword = randomSecret();
  /** Each application user's rules: its access policy minus the commands Azure disables. */
  readonly #rulesByUser = new Map<string, readonly string[]>();
  /** Password users by name → the hash of their one current password. */
  readonly #passwordHashes = new Map<string, string>();
  readonly #entraTokens: EntraTokenPasswords;
  /** Users of the launcher's own besides the admin (a cluster's replication user). */
  readonly #internalUsers = new Map<string, AclUser>();

  /**
   * `onTokenExpired` receives the ACL SETUSER that removes an expired token: a failure to send it
   * (a server restarting) is harmless, as the next start renders the file without it.
   */
  constructor(
    options: RedisUserOptions,
    version: RedisVersion,
    onTokenExpired: (removal: AclSetUserArguments) => void,
  ) {
    const rulesOf = (policy: RedisAccessPolicyName | undefined) =>
      applicationUserRules(version, policy ?? options.accessPolicy ?? 'Data Owner');
    for (const user of options.users ?? []) {
      assertAclUserName(user.name);
      this.#passwordHashes.set(user.name, aclPasswordHash(user.password));
      this.#rulesByUser.set(user.name, rulesOf(user.accessPolicy));
    }
    for (const user of options.entraUsers ?? []) {
      this.#rulesByUser.set(user.objectId, rulesOf(user.accessPolicy));
    }
    this.#entraTokens = new EntraTokenPasswords(
      (options.entraUsers ?? []).map((user) => user.objectId),
      (objectId, hash) => onTokenExpired(['ACL', 'SETUSER', objectId, `!${hash}`]),
    );
  }

  /** Adds a user only the launcher uses (never an application's), with its own password and rules. */
  addInternalUser(name: string, password: string, rules: readonly string[]): void {
    assertAclUserName(name);
    this.#internalUsers.set(name, { hashes: [aclPasswordHash(password)], rules });
  }

  /** Records a token the identity endpoint minted; the SETUSER that adds it, or undefined if it is not for Redis or for a user here. */
  acceptToken(event: IssuedTokenEvent): AclSetUserArguments | undefined {
    if (!redisEntraResources.includes(event.resource)) return undefined;
    const objectId = event.identity.objectId;
    const hash = this.#entraTokens.accept(objectId, event.token, event.expiresOnSeconds * 1000);
    return hash ? ['ACL', 'SETUSER', objectId, `#${hash}`] : undefined;
  }

  /** Makes `password` the user's only password; the SETUSER that does it on a server. */
  rotatePassword(user: string, password: string): AclSetUserArguments {
    if (!this.#passwordHashes.has(user))
      throw new Error(`no Redis password user named ${JSON.stringify(user)}`);
    const hash = aclPasswordHash(password);
    this.#passwordHashes.set(user, hash);
    return ['ACL', 'SETUSER', user, 'resetpass', `#${hash}`, ...(this.#rulesByUser.get(user) ?? [])];
  }

  /** Every user as the ACL file has them: the admin, internal users, password users, Entra users with their valid tokens. */
  aclUsers(): Map<string, AclUser> {
    const users = new Map<string, AclUser>([
      [adminUserName, { hashes: [aclPasswordHash(this.adminPassword)], rules: adminUserRules }],
      ...this.#internalUsers,
    ]);
    const rulesOf = (name: string) => this.#rulesByUser.get(name) ?? [];
    for (const [name, hash] of this.#passwordHashes)
      users.set(name, { hashes: [hash], rules: rulesOf(name) });
    for (const objectId of this.#entraTokens.objectIds) {
      users.set(objectId, { hashes: this.#entraTokens.validHashes(objectId), rules: rulesOf(objectId) });
    }
    return users;
  }

  /** What the token-expiry gateway asks about a password a connection authenticated with. */
  passwordJudge(): PasswordJudge {
    const tokens = this.#entraTokens;
    return {
      expiryOf: (user, password) => {
        if (!tokens.isEntraUser(user)) return undefined;
        const known = tokens.expiryOf(user, password);
        if (known !== undefined) return known;
        // Already removed because it just expired: its own `exp` says when.
        try {
          const exp = decodeJwt(password).exp;
          return typeof exp === 'number' ? exp * 1000 : Date.now();
        } catch {
          return Date.now();
        }
      },
      accepts: (user, password) =>
        tokens.isEntraUser(user)
          ? tokens.isValid(user, password)
          : this.#passwordHashes.get(user) === aclPasswordHash(password),
    };
  }

  /** Stops the expiry timers. */
  close(): void {
    this.#entraTokens.close();
  }
}
