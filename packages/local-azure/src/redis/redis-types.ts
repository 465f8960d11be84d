import type { IdentityEndpoint } from '../identity/identity-types.js';
import type { RedisAccessPolicyName } from './redis-access-policy.js';

export type { RedisAccessPolicyName };

/** A Redis ACL user that logs in with a password. */
export interface RedisPasswordUser {
  name: string;
  password: string;
  /** This user's built-in access policy; default: the instance's `accessPolicy`. */
  accessPolicy?: RedisAccessPolicyName;
}

/** A Microsoft Entra principal: an ACL user named by its object id, as Azure Cache for Redis makes one. */
export interface RedisEntraUser {
  objectId: string;
  /** The policy assigned to it (`az redis access-policy-assignment create`); default: the instance's `accessPolicy`. */
  accessPolicy?: RedisAccessPolicyName;
}

/** What Redis counted, for tests. */
export interface RedisCounters {
  /** Connections closed because the Entra token they authenticated with expired without a newer AUTH. */
  readonly expiryDrops: number;
}

/** Options of `startRedis()`. */
export interface RedisLauncherOptions {
  /** Enables Entra mode: tokens this endpoint mints for `https://redis.azure.com` become ACL passwords. */
  identity?: Pick<IdentityEndpoint, 'onTokenIssued' | 'verifyToken'>;
  /** Also serve TLS on a second free port (`tlsPort`) with the local CA's certificate. */
  tls?: { certPath: string; keyPath: string; caPath: string };
  /** ACL users with a password, with `accessPolicy`'s commands. */
  users?: RedisPasswordUser[];
  /** Entra principals: an ACL user named by the object id, as Azure Cache for Redis does. */
  entraUsers?: RedisEntraUser[];
  /**
   * The built-in access policy of every user that names none: `'Data Owner'` (default: every
   * command), `'Data Contributor'` (no `@dangerous` command: no INFO, KEYS, CLIENT LIST, FLUSHALL, …)
   * or `'Data Reader'` (`@read` and `@connection` only). Azure disables the same administrative
   * commands (CONFIG, ACL, …) under all three.
   */
  accessPolicy?: RedisAccessPolicyName;
  /**
   * Entra mode only. `'close'` (default, as Azure does): a connection authenticated with a token is
   * closed when the token expires unless it sent AUTH with a newer one; counted in
   * `counters.expiryDrops`. A gateway in front of redis-server serves `port` and `tlsPort` for this.
   * `'keep'`: no gateway; Redis keeps such connections open.
   */
  expiredTokenConnections?: 'close' | 'keep';
  /** Default: a free loopback port. */
  port?: number;
  /** How long to wait for the server to answer PING. Default 15 000. */
  startTimeoutMs?: number;
}

/** A running private redis-server and its admin helpers. */
export interface RedisInstance {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly tlsPort?: number;
  /** Connection counters (token-expiry drops). */
  readonly counters: RedisCounters;
  /** ACL SETUSER resetpass + the new password; connections already authenticated keep working, as in Redis. */
  rotatePassword(user: string, newPassword?: string): Promise<string>;
  /** Stops and starts redis-server on the same ports; ACL users and valid tokens stay (data does not: nothing is persisted). */
  restart(): Promise<void>;
  /** No process, port or folder left afterwards; calling it again is harmless. */
  stop(): Promise<void>;
}

/** Azure Cache for Redis's audience, with or without the trailing slash. */
export const redisEntraResources: readonly string[] = ['https://redis.azure.com', 'https://redis.azure.com/'];
