import {
  ClosedError,
  createTokenProvider,
  type KeylessError,
  type PasswordSource,
  type TokenProvider,
} from '@keyless/core';
import {
  assertNoWeakenedTls,
  assertSecretDestination,
  backoffDelay,
  installRedactedViews,
  isPasswordSource,
  Readiness,
  recordAuthenticationFailure,
  resolveTokenProviderOption,
  type SecretDestination,
  TypedEmitter,
  warnAboutCredentialPrintingDebugOutput,
} from '@keyless/core/internal';
import type { PasswordBinding } from '@keyless/keyvault/internal';
import type pg from 'pg';
import { EarlyPassword } from './early-password.js';
import { KeylessPool, refusedPasswordOf } from './keyless-pool.js';
import { bindPostgresPassword } from './password-source.js';
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
  mode: PasswordSource['kind'];
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
  /** Secret or Entra-token mode, as configured (the `kind` of the option `password`). */
  readonly mode: PasswordSource['kind'];
  /**
   * For a fail-fast start-up: reads the password (or token), opens one connection and returns it
   * to the pool (where the first query finds it). Rejects with the typed error a query would get
   * (AuthenticationFailedError, ServiceUnavailableError, ConfigurationError for an untrusted
   * certificate, a missing secret or database, …). The factory itself never connects or fetches.
   */
  connect(): Promise<void>;
  /**
   * For a readiness probe (App Service health check, Kubernetes readinessProbe): the first call is
   * `connect()`; once that has succeeded, a call checks only what the process holds — the password
   * or token, from its cache (no request while it is valid; a Key Vault secret keeps serving its
   * last good value through a vault outage) — so a probe every few seconds neither loads the
   * server nor waits behind busy queries. Rejects with the typed error when not ready; the next
   * call then runs `connect()` again.
   */
  ready(): Promise<void>;
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

/** pg-pool's query, as #query calls it. */
type PoolQuery = {
  query(
    text: unknown,
    values: unknown,
    callback: ((error: Error | undefined, result: unknown) => void) | undefined,
  ): unknown;
};

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
  const mode = isPasswordSource(source) && source.kind === 'entra-token' ? 'entra-token' : 'key-vault-secret';
  const resolved = resolvePostgresOptions(options, mode);
  // Fail fast here; the same check runs again for every connection (the environment can change).
  assertSecretDestination(secretDestination(resolved), process.env);
  const givenProvider = resolveTokenProviderOption(options.tokenProvider);
  let ownedProvider: TokenProvider | undefined;
  const provider = () => {
    if (givenProvider) return givenProvider;
    ownedProvider ??= createTokenProvider();
    return ownedProvider;
  };
  let password: PasswordBinding;
  try {
    password = bindPostgresPassword(source, provider, process.env);
  } catch (error) {
    void ownedProvider?.close();
    throw error;
  }
  return new KeylessPostgresConnector(resolved, password, ownedProvider);
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

class KeylessPostgresConnector implements PostgresConnector {
  readonly mode: PasswordSource['kind'];
  readonly #options: ResolvedPostgresOptions;
  readonly #password: PasswordBinding;
  readonly #ownedProvider: TokenProvider | undefined;
  readonly #emitter = new TypedEmitter<PostgresConnectorEvents>();
  readonly #errorContext: PostgresErrorContext;
  #pool: KeylessPool | undefined;
  #closed = false;
  #readiness: Readiness | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    options: ResolvedPostgresOptions,
    password: PasswordBinding,
    ownedProvider: TokenProvider | undefined,
  ) {
    this.#options = options;
    this.#password = password;
    this.#ownedProvider = ownedProvider;
    this.mode = password.kind;
    const { description } = password;
    this.#errorContext = {
      mode: password.kind,
      host: options.host,
      port: options.port,
      database: options.database,
      user: options.user,
      secretName: description.mode === 'key-vault-secret' ? description.secretName : undefined,
    };
    // Bound once: pg-pool's `query` is used as a free function by callers (`const { query } = …`).
    this.query = this.#query.bind(this) as pg.Pool['query'];
    // Names only: where, as whom, and which secret or scope — never the password.
    installRedactedViews(this, () => this.#describe(), 'PostgresConnector');
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
    return this.#emitter.on(name, listener);
  }

  async connect(): Promise<void> {
    // pool.connect() takes the connector's own path: the password read, a refused one renewed,
    // a restarting server waited out, and the final failure mapped to a keyless error.
    const client = await this.pool.connect();
    client.release();
  }

  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('PostgresConnector'));
    this.#readiness ??= new Readiness(
      () => this.connect(),
      async () => {
        await this.#password.get();
      },
    );
    return this.#readiness.check();
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      const pool = this.#pool;
      this.#pool = undefined;
      if (pool) await pool.end().catch(() => {});
      this.#emitter.removeAll();
      await this.#password.close();
      await this.#ownedProvider?.close();
    })();
    return this.#closing;
  }

  #describe(): Record<string, unknown> {
    const { host, port, database, user } = this.#options;
    return { host, port, database, user, ...this.#password.description, closed: this.#closed };
  }

  /**
   * pg-pool's three parameters (text or config, values or callback, callback), fixed: a rest
   * parameter and a spread call would cost an array per query. The promise form passes pg-pool a
   * callback and makes one promise with one `.catch` — as many as pg-pool's own promise form, which
   * it replaces — so a warm pool's query costs what a raw pg.Pool's does (see the bench).
   */
  #query(text: unknown, values?: unknown, callback?: unknown): unknown {
    if (this.#closed) {
      const error = new ClosedError('PostgresConnector');
      const last = typeof callback === 'function' ? callback : values;
      if (typeof last === 'function') {
        queueMicrotask(() => (last as (error: Error) => void)(error));
        return undefined;
      }
      return Promise.reject(error);
    }
    const pool = this.pool as unknown as PoolQuery;
    // Callback and Submittable (cursor, stream) forms belong to pg: pass them through untouched.
    if (
      typeof values === 'function' ||
      typeof callback === 'function' ||
      typeof (text as { submit?: unknown } | null)?.submit === 'function'
    ) {
      return pool.query(text, values, callback as undefined);
    }
    return new Promise((resolve, reject) => {
      pool.query(text, values, (error, result) => (error ? reject(error) : resolve(result)));
    }).catch((error: unknown) => {
      const mapped = mapPostgresError(error, this.#errorContext);
      // As pg-pool does for its own promise: the stack of an error that stays pg's leads back to
      // the caller (async frames), not to the socket read that delivered it.
      if (mapped === error && error instanceof Error) Error.captureStackTrace(error);
      throw mapped;
    });
  }

  #createPool(): KeylessPool {
    const { host, port, database, user, ssl, pool: poolOptions } = this.#options;
    const password = this.#password;
    const destination = secretDestination(this.#options);
    // Node reads NODE_TLS_REJECT_UNAUTHORIZED at every TLS connect, so the guard runs per connection.
    const assertDestination = () => assertSecretDestination(destination, process.env);
    const earlyPassword = new EarlyPassword(password);
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
        return earlyPassword.get();
      },
    };
    if (password.kind === 'entra-token' && poolOptions.maxLifetimeSeconds === undefined) {
      config.maxLifetimeSeconds = defaultEntraMaxLifetimeSeconds;
    }
    const pool = new KeylessPool(config, {
      assertDestination,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      shouldRetry: async (error, signal) => {
        if (!isAuthenticationFailure(error)) return false;
        // Only a stale password is worth another try: a refused Entra token will be refused again.
        const willRetry = password.kind === 'key-vault-secret' && sqlStateOf(error) === '28P01';
        recordAuthenticationFailure({ 'db.system.name': 'postgresql', 'server.address': host });
        this.#emitter.emit('password-refused', {
          mode: password.kind,
          user,
          sqlState: sqlStateOf(error) ?? '',
          willRetry,
        });
        if (!willRetry) return false;
        await password.renew(refusedPasswordOf(error), signal);
        return true;
      },
      reconnectDelay: (error, attempt, startedAt) => {
        if (!isTransientConnectFailure(error)) return undefined;
        const delayMs = backoffDelay(attempt, connectBackoff);
        // No attempt starts past the budget; the one under way when it ends may still take up to
        // connectTimeoutMs (a refused port fails at once, a silent one at the timeout), so a caller
        // waits at most connectRetryMs + connectTimeoutMs of network time.
        if (performance.now() - startedAt + delayMs > this.#options.connectRetryMs) return undefined;
        this.#emitter.emit('connect-retry', {
          attempt,
          delayMs,
          error: mapPostgresError(error, this.#errorContext),
        });
        return delayMs;
      },
      mapError: (error, retried) => mapPostgresError(error, { ...this.#errorContext, retried }),
      describe: () => this.#describe(),
    });
    // Without a listener, an idle connection the server ends (restart, failover) would crash the
    // process with an unhandled 'error' event. pg has already removed it from the pool.
    pool.on('error', (error) => {
      this.#emitter.emit('idle-connection-error', {
        error: mapPostgresError(error, this.#errorContext) as KeylessError,
      });
    });
    // The pool is made at its first use, which is about to connect: the password (or token) is
    // fetched meanwhile (early-password.ts). Not for a destination the guard refuses: that connect
    // fails before any socket, and nothing should be fetched for it.
    if (isAllowed(assertDestination)) earlyPassword.start();
    return pool;
  }
}

function isAllowed(assertDestination: () => void): boolean {
  try {
    assertDestination();
    return true;
  } catch {
    return false;
  }
}
