import { ConfigurationError } from '@keyless/core';

/**
 * ioredis options that decide where the password goes, as whom, or over what: keyless decides
 * them, so giving one in `redisOptions` (or to `duplicate()`) is refused, not silently overridden.
 *
 * Every option of ioredis 5.4–6.0 (`RedisOptions` = CommonRedisOptions + SentinelConnectionOptions
 * + StandaloneConnectionOptions), and the decision:
 *
 * - refused, connection: `host`, `port` (top-level options), `path` (a Unix socket stays on this
 *   machine, but ioredis would silently ignore `host`/`port`, so what keyless checks and reports
 *   would not be where it connects; use host 127.0.0.1 and the port), `tls` (the top-level `tls`,
 *   so that `tls: false` cannot be combined with an unverified `redisOptions.tls`), `Connector`
 *   (also refused by core's guard: a custom connector receives the password).
 * - refused, credentials: `username`, `password` (keyless supplies both, re-read at each connect).
 * - refused, Sentinel (not supported; each one opens connections keyless does not check, carries a
 *   second secret, or remaps addresses): `sentinels`, `sentinelUsername`, `sentinelPassword`,
 *   `sentinelTLS`, `enableTLSForSentinelMode`, `natMap` (remaps the address a Sentinel announces;
 *   in a standalone connection it does nothing, and keyless's certificate check is always against
 *   `host`), `name`, `role`, `preferredSlaves`, `sentinelRetryStrategy`,
 *   `sentinelReconnectStrategy`, `sentinelCommandTimeout`, `updateSentinels`,
 *   `sentinelMaxConnections`, `failoverDetector`.
 * - passed through (they shape commands and reconnects, not the destination or the credential):
 *   `family`, `connectTimeout`, `disconnectTimeout` (honoured by keyless's socket connector),
 *   `retryStrategy`, `commandTimeout`, `blockingTimeout`, `blockingTimeoutGrace`, `socketTimeout`,
 *   `keepAlive`, `noDelay`, `connectionName`, `disableClientInfo`, `clientInfoTag`, `db`,
 *   `autoResubscribe`, `autoResendUnfulfilledCommands`, `reconnectOnError`, `readOnly`,
 *   `stringNumbers`, `protocol`, `replyMapping`, `monitor`, `maxRetriesPerRequest`,
 *   `maxLoadingRetryTime`, `enableAutoPipelining`, `autoPipeliningIgnoredCommands`,
 *   `offlineQueue`, `commandQueue`, `enableOfflineQueue`, `enableReadyCheck`, `lazyConnect`,
 *   `scripts`, `himportFieldsets`, `keyPrefix`, `showFriendlyErrorStack`.
 *
 * TLS-weakening keys at any depth (`rejectUnauthorized`, `checkServerIdentity`, `servername`, …)
 * are refused by core's `assertNoWeakenedTls` before this list is consulted.
 */
const refusedOptions: Readonly<Record<RefusedRedisOption, string>> = {
  host: 'set the top-level option `host` (or KEYLESS_REDIS_HOST)',
  port: 'set the top-level option `port` (or KEYLESS_REDIS_TLS_PORT / KEYLESS_REDIS_PORT)',
  path: 'keyless connects to `host`:`port` and checks that destination; ioredis would ignore both for a Unix socket. For a Redis on this machine, use host 127.0.0.1 and its port',
  tls: 'set the top-level option `tls` (true, `{ ca }`, or false for a Redis on this machine only): keyless decides TLS, so that what it checks and reports is what is used',
  Connector: 'a custom ioredis connector would receive the password; keyless opens the connection itself',
  username:
    "keyless supplies the user: set the top-level option `user` (or KEYLESS_REDIS_USER; with entraToken(), the identity's object id, or KEYLESS_REDIS_ENTRA_USER)",
  password:
    'keyless supplies the password (a Key Vault secret or an Entra token) and re-reads it at every connect; never put one in the options',
  sentinels: sentinelHint(),
  sentinelUsername: sentinelHint(),
  sentinelPassword: sentinelHint(),
  sentinelTLS: sentinelHint(),
  enableTLSForSentinelMode: sentinelHint(),
  natMap: sentinelHint(),
  name: sentinelHint('`name` is the Sentinel master name; for the connection name use `connectionName`'),
  role: sentinelHint(),
  preferredSlaves: sentinelHint(),
  sentinelRetryStrategy: sentinelHint(),
  sentinelReconnectStrategy: sentinelHint(),
  sentinelCommandTimeout: sentinelHint(),
  updateSentinels: sentinelHint(),
  sentinelMaxConnections: sentinelHint(),
  failoverDetector: sentinelHint(),
};

/**
 * The ioredis options keyless decides itself (where to connect, as whom, over what), refused in
 * `redisOptions` and `duplicate(override)`; the type of `redisOptions` leaves them out too.
 */
export type RefusedRedisOption =
  | 'host'
  | 'port'
  | 'path'
  | 'tls'
  | 'Connector'
  | 'username'
  | 'password'
  | 'sentinels'
  | 'sentinelUsername'
  | 'sentinelPassword'
  | 'sentinelTLS'
  | 'enableTLSForSentinelMode'
  | 'natMap'
  | 'name'
  | 'role'
  | 'preferredSlaves'
  | 'sentinelRetryStrategy'
  | 'sentinelReconnectStrategy'
  | 'sentinelCommandTimeout'
  | 'updateSentinels'
  | 'sentinelMaxConnections'
  | 'failoverDetector';

function sentinelHint(detail?: string): string {
  return `Redis Sentinel is not supported: connect to the cache's own host name (Azure Cache for Redis has no Sentinel endpoint)${detail ? `; ${detail}` : ''}`;
}

/**
 * Throws ConfigurationError naming `<path>.<option>` for the first refused option that is set
 * (undefined and null mean "not set", as in ioredis).
 */
export function assertNoRefusedRedisOptions(options: Record<string, unknown>, path: string): void {
  for (const [key, hint] of Object.entries(refusedOptions)) {
    if (!Object.hasOwn(options, key)) continue;
    const value = options[key];
    if (value === undefined || value === null) continue;
    throw new ConfigurationError(`Invalid option \`${path}.${key}\` for Redis`, { hint });
  }
}
