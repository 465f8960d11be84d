import { inspect } from 'node:util';
import { ClosedError, createTokenProvider, type KeylessError, type TokenProvider } from '@keyless/core';
import {
  assertNoWeakenedTls,
  assertSecretDestination,
  backoffDelay,
  type SecretDestination,
  warnAboutCredentialPrintingDebugOutput,
} from '@keyless/core/internal';
import type pg from 'pg';
import { KeylessPool, refusedPasswordOf } from './keyless-pool.js';
import { bindPasswordSource, type PasswordStrategy, type PostgresPasswordMode } from './password-source.js';
import {
  isAuthenticationFailure,
  isTransientConnectFailure,
  mapPostgresError,
  type PostgresErrorContext,
  sqlStateOf,
} from './postgres-error-mapping.js';
import {
  type PostgresConnectorOptions,
  type ResolvedPostgresOptions,
  resolvePostgresOptions,
} from './postgres-options.js';

/** A login was refused. `willRetry`: the password was read afresh and the connect is tried once more. */
export interface PasswordRefusedEvent {
  mode: PostgresPasswordMode;
  user: string;
  sqlState: string;
  willRetry: boolean;
}

/** An idle pooled connection failed (server restart, failover, network); pg has already dropped it. */
export interface IdleConnectionErrorEvent {
  error: unknown;
}

/** A new connection found the server refusing or starting up and will be tried again after `delayMs`. */
export interface ConnectRetryEvent {
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** Why the connect failed, as a keyless error (`unavailable`). */
  error: unknown;
}

/** The events a PostgreSQL connector emits, by name. */
export interface PostgresConnectorEvents {
  /** The server refused a login (SQLSTATE 28P01). */
  'password-refused': PasswordRefusedEvent;
  /** A new connection is waiting out a restart or failover (see the option `connectRetryMs`). */
  'connect-retry': ConnectRetryEvent;
  /** An idle pooled connection failed. */
  'idle-connection-error': IdleConnectionErrorEvent;
}

/** What `createPostgresConnector()` returns: a `pg.Pool` with a password that is never stored, and a lifetime. */
export interface PostgresConnector {
  /** The pg.Pool (created on first use). Its connect() and query() retry a refused password once. */
  readonly pool: pg.Pool;
  /** pool.query, with connection-level failures mapped to keyless errors. */
  query: pg.Pool['query'];
  /** Secret or Entra-token mode, as configured. */
  readonly mode: PostgresPasswordMode;
  /** Listens to an event; returns a function that stops listening. */
  on<Name extends keyof PostgresConnectorEvents>(
    name: Name,
    listener: (event: PostgresConnectorEvents[Name]) => void,
  ): () => void;
  /** Idempotent: ends the pool, and the provider / vault connector if this connector made them. */
  close(): Promise<void>;
}

/** Between connects to a server that is restarting: quick at first, then no faster than every 2 s. */
const connectBackoff: Parameters<typeof backoffDelay>[1] = { baseDelayMs: 100, maxDelayMs: 2000 };

/** Entra mode: sessions are recycled within this time so none outlives the policy it logged in under. */
export const defaultEntraMaxLifetimeSeconds = 3600;

/**
 * PostgreSQL with no stored password: a pg.Pool whose password is a rotating Key Vault secret or an
 * Entra token, asked for per new connection. Bad configuration throws ConfigurationError here,
 * including anything that would weaken TLS (at any depth of the options, whatever the types allow)
 * or send the password to another machine without verified TLS.
 */
export function createPostgresConnector(options: PostgresConnectorOptions): PostgresConnector {
  warnAboutCredentialPrintingDebugOutput(process.env);
  // Options often arrive from JSON or `as any`: pg reads `ssl`, `sslmode`, … wherever they are.
  assertNoWeakenedTls(options, '', { service: 'PostgreSQL' });
  const source = options?.password;
  const mode =
    (source as { mode?: unknown } | undefined)?.mode === 'entra-token' ? 'entra-token' : 'key-vault-secret';
  const resolved = resolvePostgresOptions(options, mode);
  // Fail fast here; the same check runs again for every connection (the environment can change).
  assertSecretDestination(secretDestination(resolved), process.env);
  let ownedProvider: TokenProvider | undefined;
  const provider = () => {
    if (options.tokenProvider) return options.tokenProvider;
    ownedProvider ??= createTokenProvider();
    return ownedProvider;
  };
  let strategy: PasswordStrategy;
  try {
    strategy = bindPasswordSource(source, provider, process.env);
  } catch (error) {
    void ownedProvider?.close();
    throw error;
  }
  return new KeylessPostgresConnector(resolved, strategy, ownedProvider);
}

/** Where the password goes, for core's transport guard. */
function secretDestination(options: ResolvedPostgresOptions): SecretDestination {
  return {
    service: 'PostgreSQL',
    host: options.host,
    tls: options.ssl !== false,
    hostSetting: 'option `host` / KEYLESS_POSTGRES_HOST',
    tlsHint: 'leave the option `ssl` unset (verified TLS), or pass `ssl: { ca }` to trust a private CA',
  };
}

/**
 * What pg gets as `ssl`: verification spelled out, so that it holds whatever the process's
 * NODE_TLS_REJECT_UNAUTHORIZED says (Node reads that only when the option is absent); pg sets the
 * server name for the check from `host` itself. `false` only reaches here for loopback.
 */
function pgSsl(ssl: ResolvedPostgresOptions['ssl']): pg.PoolConfig['ssl'] {
  if (ssl === false) return false;
  return ssl === true ? { rejectUnauthorized: true } : { ca: ssl.ca, rejectUnauthorized: true };
}

type Listener = (event: never) => void;

class KeylessPostgresConnector implements PostgresConnector {
  readonly mode: PostgresPasswordMode;
  readonly #options: ResolvedPostgresOptions;
  readonly #strategy: PasswordStrategy;
  readonly #ownedProvider: TokenProvider | undefined;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #errorContext: PostgresErrorContext;
  #pool: KeylessPool | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    options: ResolvedPostgresOptions,
    strategy: PasswordStrategy,
    ownedProvider: TokenProvider | undefined,
  ) {
    this.#options = options;
    this.#strategy = strategy;
    this.#ownedProvider = ownedProvider;
    this.mode = strategy.mode;
    this.#errorContext = {
      mode: strategy.mode,
      host: options.host,
      port: options.port,
      database: options.database,
      user: options.user,
      secretName: strategy.description.secretName,
    };
    // Bound once: pg-pool's `query` is used as a free function by callers (`const { query } = …`).
    this.query = this.#query.bind(this) as pg.Pool['query'];
  }

  readonly query: pg.Pool['query'];

  get pool(): pg.Pool {
    if (this.#closed) throw new ClosedError('PostgresConnector');
    this.#pool ??= this.#createPool();
    return this.#pool;
  }

  on<Name extends keyof PostgresConnectorEvents>(
    name: Name,
    listener: (event: PostgresConnectorEvents[Name]) => void,
  ): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      const pool = this.#pool;
      this.#pool = undefined;
      if (pool) await pool.end().catch(() => {});
      await this.#strategy.close();
      await this.#ownedProvider?.close();
    })();
    return this.#closing;
  }

  toJSON(): Record<string, unknown> {
    return this.#describe();
  }

  [inspect.custom](_depth: number, options: object): string {
    return `PostgresConnector ${inspect(this.#describe(), options)}`;
  }

  #describe(): Record<string, unknown> {
    const { host, port, database, user } = this.#options;
    return { host, port, database, user, ...this.#strategy.description, closed: this.#closed };
  }

  #emit<Name extends keyof PostgresConnectorEvents>(name: Name, event: PostgresConnectorEvents[Name]): void {
    for (const listener of this.#listeners.get(name) ?? []) {
      try {
        (listener as (event: PostgresConnectorEvents[Name]) => void)(event);
      } catch {
        // A listener's bug must not fail a connect.
      }
    }
  }

  #query(...args: unknown[]): unknown {
    const last = args.at(-1);
    const first = args[0] as { submit?: unknown } | undefined;
    if (this.#closed) {
      const error = new ClosedError('PostgresConnector');
      if (typeof last === 'function') {
        queueMicrotask(() => (last as (error: Error) => void)(error));
        return undefined;
      }
      return Promise.reject(error);
    }
    const pool = this.pool as unknown as { query: (...queryArgs: unknown[]) => unknown };
    // Callback and Submittable (cursor, stream) forms belong to pg: pass them through untouched.
    if (typeof last === 'function' || typeof first?.submit === 'function') return pool.query(...args);
    return (pool.query(...args) as Promise<unknown>).catch((error: unknown) => {
      throw mapPostgresError(error, this.#errorContext);
    });
  }

  #createPool(): KeylessPool {
    const { host, port, database, user, ssl, pool: poolOptions } = this.#options;
    const strategy = this.#strategy;
    const destination = secretDestination(this.#options);
    // Node reads NODE_TLS_REJECT_UNAUTHORIZED at every TLS connect, so the guard runs per connection.
    const assertDestination = () => assertSecretDestination(destination, process.env);
    const config: pg.PoolConfig = {
      ...poolOptions,
      host,
      port,
      user,
      ...(database === undefined ? {} : { database }),
      ssl: pgSsl(ssl),
      // Called by pg for each new connection, never for a pooled one: where the password is handed over.
      password: async () => {
        assertDestination();
        return strategy.password();
      },
    };
    if (strategy.mode === 'entra-token' && poolOptions.maxLifetimeSeconds === undefined) {
      config.maxLifetimeSeconds = defaultEntraMaxLifetimeSeconds;
    }
    const pool = new KeylessPool(config, {
      assertDestination,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      shouldRetry: async (error, signal) => {
        if (!isAuthenticationFailure(error)) return false;
        // Only a stale password is worth another try: a refused Entra token will be refused again.
        const willRetry = strategy.mode === 'key-vault-secret' && sqlStateOf(error) === '28P01';
        this.#emit('password-refused', {
          mode: strategy.mode,
          user,
          sqlState: sqlStateOf(error) ?? '',
          willRetry,
        });
        if (!willRetry) return false;
        await strategy.renew(refusedPasswordOf(error), signal);
        return true;
      },
      reconnectDelay: (error, attempt, startedAt) => {
        if (!isTransientConnectFailure(error)) return undefined;
        const delayMs = backoffDelay(attempt, connectBackoff);
        if (performance.now() - startedAt + delayMs > this.#options.connectRetryMs) return undefined;
        this.#emit('connect-retry', { attempt, delayMs, error: mapPostgresError(error, this.#errorContext) });
        return delayMs;
      },
      mapError: (error, retried) => mapPostgresError(error, { ...this.#errorContext, retried }),
      describe: () => this.#describe(),
    });
    // Without a listener, an idle connection the server ends (restart, failover) would crash the
    // process with an unhandled 'error' event. pg has already removed it from the pool.
    pool.on('error', (error) => {
      this.#emit('idle-connection-error', {
        error: mapPostgresError(error, this.#errorContext) as KeylessError,
      });
    });
    return pool;
  }
}
