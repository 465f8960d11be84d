import { setTimeout as delay } from 'node:timers/promises';
import { ClosedError } from '@keyless/core';
import { installRedactedViews, recordLogin } from '@keyless/core/internal';
import pg from 'pg';

/**
 * The password a refused connection sent, by its error. Kept out of the error object itself so that
 * no view of the error (inspect with showHidden included) can show it.
 */
const refusedPasswords = new WeakMap<object, string>();

export function refusedPasswordOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? refusedPasswords.get(error) : undefined;
}

/** When (performance.now()) the connect that failed with this error began. */
const attemptStarts = new WeakMap<object, number>();

/**
 * The start of the failed connect, so that the retry budget counts from the first attempt: a login
 * that hung for `connectTimeoutMs` before failing has already spent that much of it.
 */
export function attemptStartOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? attemptStarts.get(error) : undefined;
}

/** Where the pool hands its error mapping to the clients it creates (pg-pool passes its options on). */
export const mapErrorKey = Symbol('keyless.mapError');
/** Where the pool hands the clients the check that runs before a connection is opened. */
export const connectGuardKey = Symbol('keyless.connectGuard');
/** Where the pool hands the clients the network time one login may take (see ConnectTimeoutError). */
export const connectTimeoutKey = Symbol('keyless.connectTimeout');

/** A login that did not complete within `connectTimeoutMs` of network time. */
export class ConnectTimeoutError extends Error {
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'ConnectTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

type KeylessClientConfig = pg.ClientConfig & {
  [mapErrorKey]?: (error: unknown) => unknown;
  [connectGuardKey]?: () => void;
  [connectTimeoutKey]?: number;
};

type PasswordHolder = {
  password: unknown;
  connectionParameters: { password: unknown };
  connection?: { stream?: { destroy(error?: Error): void } };
};

/**
 * pg.Client that remembers which password a failed login sent (for the retry decision) and forgets
 * the password once the login is over: pg keeps it on the client and its connection parameters,
 * where `util.inspect(client, { showHidden: true })` would show it, and never needs it again.
 *
 * It also bounds a login: the network part (TCP, TLS, the authentication exchange) may take
 * `connectTimeoutMs`, while the wait for the password or token does not count (Key Vault or the
 * identity endpoint have their own limits, and a slow token is not a silent server). A failed
 * login's socket is destroyed: pg leaves it open when the password callback fails, and the server
 * would keep it (and the process) alive until its authentication_timeout, 60 s by default.
 */
export class PasswordForgettingClient extends pg.Client {
  readonly #mapError: ((error: unknown) => unknown) | undefined;
  readonly #guard: (() => void) | undefined;
  readonly #timeoutMs: number | undefined;
  #remainingMs = 0;
  #timerStartedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #loggingIn = false;
  #connectStartedAt = 0;

  constructor(config?: KeylessClientConfig) {
    super(config);
    this.#mapError = config?.[mapErrorKey];
    this.#guard = config?.[connectGuardKey];
    this.#timeoutMs = config?.[connectTimeoutKey];
    const holder = this as unknown as PasswordHolder;
    const password = holder.password;
    if (typeof password === 'function') {
      holder.password = async (...args: unknown[]) => {
        this.#pauseTimer();
        try {
          return await (password as (...passwordArgs: unknown[]) => unknown)(...args);
        } finally {
          if (this.#loggingIn) this.#startTimer();
        }
      };
      holder.connectionParameters.password = holder.password;
    }
    // Where and as whom, never the password (pg keeps it on the client until the login is over).
    installRedactedViews(this, () => describeClient(this), 'PoolClient');
  }

  /**
   * Promise-form queries get connection-level failures (the server ended the session, the socket
   * dropped) as keyless errors, like the connector's own query(); callback and Submittable forms,
   * and the application's own SQL errors, stay pg's.
   */
  // pg's three parameters, fixed (pg-pool calls this once per query: a rest parameter and a spread
  // call would cost an array each time); pg treats an undefined one as absent.
  // biome-ignore lint/suspicious/noExplicitAny: pg's query has a dozen overloads; this forwards them all.
  override query(config: any, values?: any, callback?: any): any {
    const result = (super.query as (...queryArgs: unknown[]) => unknown)(config, values, callback);
    const mapError = this.#mapError;
    if (mapError === undefined || !(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      throw mapError(error);
    });
  }

  /** One login as an OpenTelemetry span when an SDK is registered (names only; pg's SQLSTATE as error.type). */
  #recordLogin(error: unknown): void {
    const client = this as unknown as { host?: string; port?: number };
    const failure = error as { code?: unknown; message?: unknown } | undefined;
    recordLogin(
      {
        'db.system.name': 'postgresql',
        'server.address': client.host ?? '',
        'server.port': client.port ?? 0,
      },
      performance.now() - this.#connectStartedAt,
      error === undefined
        ? undefined
        : { code: String(failure?.code ?? 'unknown'), message: String(failure?.message ?? error) },
    );
  }

  override connect(): Promise<pg.Client>;
  override connect(callback: (error: Error) => void): void;
  override connect(callback?: (error: Error) => void): Promise<pg.Client> | undefined {
    this.#connectStartedAt = performance.now();
    try {
      // Before any socket exists: a refused destination never sees a byte.
      this.#guard?.();
    } catch (error) {
      this.#afterLogin(error);
      if (typeof callback !== 'function') return Promise.reject(error);
      process.nextTick(() => callback(error as Error));
      return undefined;
    }
    this.#loggingIn = true;
    this.#remainingMs = this.#timeoutMs ?? 0;
    this.#startTimer();
    if (typeof callback === 'function') {
      super.connect((error: Error) => {
        this.#afterLogin(error);
        callback(error);
      });
      return undefined;
    }
    return super.connect().then(
      (client) => {
        this.#afterLogin(undefined);
        return client;
      },
      (error: unknown) => {
        this.#afterLogin(error);
        throw error;
      },
    );
  }

  #afterLogin(error: unknown): void {
    this.#loggingIn = false;
    this.#pauseTimer();
    this.#recordLogin(error);
    const holder = this as unknown as PasswordHolder;
    if (error && typeof error === 'object') {
      attemptStarts.set(error, this.#connectStartedAt);
      if (typeof holder.password === 'string') refusedPasswords.set(error, holder.password);
    }
    holder.password = null;
    holder.connectionParameters.password = null;
    // pg-pool drops a client whose connect failed without ending it.
    if (error) holder.connection?.stream?.destroy();
  }

  #startTimer(): void {
    if (this.#timeoutMs === undefined || this.#timer !== undefined) return;
    this.#timerStartedAt = performance.now();
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        // pg reports the stream's error as the connect's error.
        (this as unknown as PasswordHolder).connection?.stream?.destroy(
          new ConnectTimeoutError(this.#timeoutMs as number),
        );
      },
      Math.max(0, this.#remainingMs),
    );
    // The socket keeps the process alive while a login runs; this timer never needs to.
    this.#timer.unref();
  }

  #pauseTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#remainingMs -= performance.now() - this.#timerStartedAt;
  }
}

function describeClient(client: pg.Client): Record<string, unknown> {
  return { host: client.host, port: client.port, database: client.database, user: client.user };
}

export interface ConnectHooks {
  /**
   * Called with a failed connect's error. Resolves `true` when the connect should be tried once more
   * (a refused password was renewed), `false` to give up. `signal` aborts when the pool closes.
   */
  shouldRetry(error: unknown, signal: AbortSignal): Promise<boolean>;
  /** Throws when a credential may not be sent to the server now (checked before each connection). */
  assertDestination(): void;
  /** Network time one login may take (see PasswordForgettingClient). */
  connectTimeoutMs: number;
  /**
   * Called with the error of a connect that failed before a session existed (`attempt` counts from
   * 1, `startedAt` is the `performance.now()` at which the first attempt began): the wait before
   * trying again, or `undefined` to stop retrying.
   */
  reconnectDelay(error: unknown, attempt: number, startedAt: number): number | undefined;
  /** Maps the final error into what the caller sees. */
  mapError(error: unknown, retried: boolean): unknown;
  describe(): Record<string, unknown>;
}

type ConnectCallback = (
  error: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

/**
 * pg.Pool whose connect path retries a login refused with a stale password once, after the password
 * source has been renewed. pg-pool's own `query()` acquires through `this.connect`, so pool.query
 * takes the same path.
 */
export class KeylessPool extends pg.Pool {
  readonly #hooks: ConnectHooks;
  /** Aborted by end(): a connect waiting to retry stops waiting, so nothing outlives close(). */
  readonly #closing = new AbortController();

  constructor(config: pg.PoolConfig, hooks: ConnectHooks) {
    super({
      ...config,
      Client: PasswordForgettingClient as unknown as pg.PoolConfig['Client'],
      [mapErrorKey]: (error: unknown) => hooks.mapError(error, false),
      [connectGuardKey]: () => hooks.assertDestination(),
      [connectTimeoutKey]: hooks.connectTimeoutMs,
    } as pg.PoolConfig);
    this.#hooks = hooks;
    installRedactedViews(this, () => this.#summary(), 'KeylessPool');
  }

  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | undefined {
    this.#closing.abort();
    if (typeof callback === 'function') {
      super.end(callback);
      return undefined;
    }
    return super.end();
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    if (this.ending) {
      const closed = new ClosedError('PostgresConnector pool');
      if (typeof callback !== 'function') return Promise.reject(closed);
      queueMicrotask(() => callback(closed, undefined, () => {}));
      return undefined;
    }
    // The success path stays pg-pool's own (pool.query passes a callback): no extra promise per query.
    if (typeof callback !== 'function')
      return super.connect().catch((error: unknown) => this.#afterFailure(error));
    super.connect((error, client, done) => {
      if (!error) {
        callback(undefined, client, done);
        return;
      }
      this.#afterFailure(error).then(
        (retried) => callback(undefined, retried, (release?: unknown) => retried.release(release as boolean)),
        (failure: Error) => callback(failure, undefined, () => {}),
      );
    });
    return undefined;
  }

  /**
   * A connect failed. A server that refused the connection or is starting up (restart, failover)
   * is tried again with backoff for as long as the hooks allow — nothing was sent, so that is safe;
   * a refused password is tried once more after the hooks renewed it; anything else is mapped.
   */
  async #afterFailure(firstError: unknown): Promise<pg.PoolClient> {
    let error = firstError;
    let passwordRenewed = false;
    const startedAt = attemptStartOf(firstError) ?? performance.now();
    for (let attempt = 1; ; attempt += 1) {
      const delayMs = this.#hooks.reconnectDelay(error, attempt, startedAt);
      if (delayMs !== undefined) {
        await this.#wait(delayMs);
      } else if (passwordRenewed || !(await this.#renewedPassword(error))) {
        throw this.#hooks.mapError(error, passwordRenewed);
      } else {
        passwordRenewed = true;
      }
      if (this.ending) throw new ClosedError('PostgresConnector pool');
      try {
        return await super.connect();
      } catch (nextError) {
        error = nextError;
      }
    }
  }

  /** A caller waits for this connect, so the timer keeps the process alive; end() cuts it short. */
  async #wait(delayMs: number): Promise<void> {
    try {
      await delay(delayMs, undefined, { signal: this.#closing.signal });
    } catch {
      throw new ClosedError('PostgresConnector pool');
    }
  }

  async #renewedPassword(error: unknown): Promise<boolean> {
    try {
      return await this.#hooks.shouldRetry(error, this.#closing.signal);
    } catch (renewError) {
      if (this.ending) throw new ClosedError('PostgresConnector pool');
      // Reading the password afresh failed (the vault refused, the secret is gone): that is the news.
      throw this.#hooks.mapError(renewError, true);
    }
  }

  #summary(): Record<string, unknown> {
    return {
      ...this.#hooks.describe(),
      totalCount: this.totalCount,
      idleCount: this.idleCount,
      waitingCount: this.waitingCount,
    };
  }
}
