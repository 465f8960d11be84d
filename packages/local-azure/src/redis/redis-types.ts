import type { IdentityEndpoint } from '../identity/identity-types.js';

/** A Redis ACL user that logs in with a password. */
export interface RedisPasswordUser {
  name: string;
  password: string;
}

/** Options of `startRedis()`. */
export interface RedisLauncherOptions {
  /** Enables Entra mode: tokens this endpoint mints for `https://redis.azure.com` become ACL passwords. */
  identity?: Pick<IdentityEndpoint, 'onTokenIssued' | 'verifyToken'>;
  /** Also serve TLS on a second free port (`tlsPort`) with the local CA's certificate. */
  tls?: { certPath: string; keyPath: string; caPath: string };
  /** ACL users with a password and every permission (+@all ~* &*). */
  users?: RedisPasswordUser[];
  /** Entra principals: an ACL user named by the object id, as Azure Cache for Redis does. */
  entraUsers?: { objectId: string }[];
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
  /** ACL SETUSER resetpass + the new password; connections already authenticated keep working, as in Redis. */
  rotatePassword(user: string, newPassword?: string): Promise<string>;
  /** Stops and starts redis-server on the same ports; ACL users and valid tokens stay (data does not: nothing is persisted). */
  restart(): Promise<void>;
  /** No process, port or folder left afterwards; calling it again is harmless. */
  stop(): Promise<void>;
}

/** Azure Cache for Redis's audience, with or without the trailing slash. */
export const redisEntraResources: readonly string[] = ['https://redis.azure.com', 'https://redis.azure.com/'];
