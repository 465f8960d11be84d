import type { IdentityEndpoint } from '../identity/identity-types.js';

/** A PostgreSQL role for a Microsoft Entra principal: tokens of that identity are its passwords. */
export interface PostgresEntraRole {
  /** The PostgreSQL role: in Azure, the identity's display name. */
  roleName: string;
  /** The identity's object id: a token's `oid` must equal it. */
  objectId: string;
}

/** A PostgreSQL role that logs in with a password (scram-sha-256). */
export interface PostgresPasswordUser {
  name: string;
  password: string;
}

/** Options of `startPostgres()`. */
export interface PostgresLauncherOptions {
  /** Enables Entra mode: tokens this endpoint mints for `https://ossrdbms-aad.database.windows.net` are passwords. */
  identity?: Pick<IdentityEndpoint, 'onTokenIssued' | 'verifyToken'>;
  /** Serve TLS with these files (the local CA's server certificate); connections must then use TLS. */
  tls?: { certPath: string; keyPath: string };
  /** Default `keyless`. */
  database?: string;
  /** Password (scram-sha-256) roles with full access to the database. */
  users?: PostgresPasswordUser[];
  /** Entra principals; needs `identity`. */
  entraRoles?: PostgresEntraRole[];
  /** Default: a free loopback port. */
  port?: number;
  /** How long to wait for the server to accept connections. Default 30 000. */
  startTimeoutMs?: number;
}

/** How `restart()` behaves. */
export interface PostgresRestartOptions {
  /**
   * How long nothing listens on the port between stop and start, in milliseconds (default 0): a
   * failover or maintenance window. Azure documents failover as typically under 120 s
   * (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-business-continuity).
   */
  downtimeMs?: number;
}

/** A running private PostgreSQL server and its admin helpers. */
export interface PostgresInstance {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly database: string;
  /** ALTER ROLE … PASSWORD; returns the new password (random if omitted). Open sessions stay up. */
  rotatePassword(user: string, newPassword?: string): Promise<string>;
  /** Creates an Entra role at run time. */
  addEntraRole(role: PostgresEntraRole): Promise<void>;
  /** As the superuser, over the private Unix socket: for seeding and tests. */
  query(sql: string, params?: unknown[]): Promise<unknown[]>;
  /**
   * Stops the server (open sessions end with 57P01), leaves the port closed for `downtimeMs`, then
   * starts it on the same port; data, roles and passwords stay. Default downtime 0.
   */
  restart(options?: PostgresRestartOptions): Promise<void>;
  /** No process, port or folder left afterwards; calling it again is harmless. */
  stop(): Promise<void>;
}

/** The audience Azure Database for PostgreSQL expects, with or without the trailing slash clients add. */
export const postgresEntraResources = [
  'https://ossrdbms-aad.database.windows.net',
  'https://ossrdbms-aad.database.windows.net/',
] as const;
