import { ClosedError, type TokenProvider } from '@keyless/core';
import { assertSecretDestination, recordLogin } from '@keyless/core/internal';
import { Connection, type ConnectionConfiguration, ConnectionError } from 'tedious';
import { EarlyToken, knownTokenScope } from './early-token.js';
import {
  type LoginContext,
  type LoginFailure,
  mapLoginFailure,
  type ServerLoginError,
  transientLoginFailureKind,
} from './login-error-mapping.js';
import { LoginRetrySchedule } from './login-retry-schedule.js';
import { type LoginTimeoutKind, LoginTimeouts } from './login-timeouts.js';
import { sqlService } from './option-guard.js';
import { PooledConnection } from './pooled-connection.js';
import type { ResolvedSqlOptions } from './sql-options.js';

export interface ConnectionFactoryOptions {
  resolved: ResolvedSqlOptions;
  /** The one credential every connection logs in with: the shared provider. */
  credential: TokenProvider;
  /**
   * Whether the credential is a keyless TokenProvider (cached, one request for concurrent callers):
   * then a login asks for its token as it starts (early-token.ts).
   */
  askTokenEarly?: boolean;
  identity: string;
  /** Stops retries and a login under way when the connector closes. */
  signal: AbortSignal;
  /** Test hook: sees each tedious Connection before it connects. */
  onConnection?: (connection: Connection) => void;
  /** Shared with the pool, so that an acquire that times out can say what the login waits for. */
  progress?: LoginProgress;
  now?: () => number;
}

/** What the logins under way are doing right now, for the pool's decisions and messages. */
export interface LoginProgress {
  /** Logins waiting for the token provider. */
  pendingTokenRequests: number;
  /**
   * Logins that Azure SQL answered with a transient error and that keep trying (each for up to
   * loginRetry.budgetMs): a query waiting for a connection waits for them — a reconfiguration —
   * rather than failing after pool.acquireTimeoutMs.
   */
  loginsRidingOut: number;
}

export function newLoginProgress(): LoginProgress {
  return { pendingTokenRequests: 0, loginsRidingOut: 0 };
}

/**
 * tedious's debug options, always built here: `payload`, `data` and `token` would print the LOGIN7
 * and FEDAUTH_TOKEN packets, that is the access token. Nothing the user passes reaches them.
 */
const noDebugOutput = Object.freeze({ data: false, packet: false, payload: false, token: false });

/**
 * Refuses to hand a token to `server` unless TLS verification is in force (or the server is this
 * machine). Node reads NODE_TLS_REJECT_UNAUTHORIZED at every TLS connect, and tedious's
 * `encrypt: 'strict'` leaves `rejectUnauthorized` to it, so this runs before every connection, not
 * only when the connector is created.
 */
export function assertSqlDestination(server: string, environment: NodeJS.ProcessEnv = process.env): void {
  assertSecretDestination({ service: sqlService, host: server, tls: true }, environment);
}

/** One login attempt as the credential and the connect callback see it. */
interface LoginAttempt {
  /** Waiting for the token provider now. */
  tokenPending: boolean;
  /**
   * Where the token goes: the configured server, or — after the gateway's routing answer (the
   * Redirect connection policy) — the node it named, which tedious connects and logs in to next.
   */
  destination: string;
  /** The expiry of the token last handed to tedious: the one the session is logged in with. */
  tokenExpiresOn: number | undefined;
}

/**
 * The credential tedious calls once the TLS handshake is done, just before it sends the token; one
 * per login (twice when the gateway redirects). Checking the destination here as well as before the
 * connect brackets the handshake: the variable cannot have switched verification off for it without
 * being seen at one end or the other. It also records whether the attempt is waiting for the
 * provider, because tedious's connect timeout covers the token request and reports it as the
 * server's ETIMEOUT, and the expiry of the token the session logs in with.
 */
function guardedCredential(
  credential: TokenProvider,
  attempt: LoginAttempt,
  progress: LoginProgress | undefined,
  timeouts: LoginTimeouts,
  early: { token?: EarlyToken },
): Pick<TokenProvider, 'getToken'> {
  return {
    getToken: async (scopes, getTokenOptions) => {
      assertSqlDestination(attempt.destination);
      attempt.tokenPending = true;
      timeouts.tokenWaitBegins();
      if (progress) progress.pendingTokenRequests += 1;
      try {
        const token = await (early.token?.take(scopes) ?? credential.getToken(scopes, getTokenOptions));
        attempt.tokenExpiresOn = token?.expiresOnTimestamp;
        return token;
      } finally {
        attempt.tokenPending = false;
        timeouts.tokenWaitEnds();
        if (progress) progress.pendingTokenRequests -= 1;
      }
    },
  };
}

/**
 * tedious emits 'rerouting' after the gateway's routing answer and before it connects to the node
 * (its `routingData`, read here, is not typed); the credential then checks that node before the
 * token goes to it. A node we cannot name is checked as a host that is not this machine:
 * NODE_TLS_REJECT_UNAUTHORIZED=0 is then refused even when `server` is loopback.
 */
function followRedirects(connection: Connection, attempt: LoginAttempt, timeouts: LoginTimeouts): void {
  // tedious emits 'rerouting' (connection.d.ts declares the emit) but types no listener for it.
  (connection as unknown as NodeJS.EventEmitter).on('rerouting', () => {
    timeouts.rerouted();
    const routed: unknown = (connection as unknown as { routingData?: { server?: unknown } }).routingData
      ?.server;
    attempt.destination = typeof routed === 'string' && routed !== '' ? routed : 'the redirect target';
  });
}

function tediousConfiguration(
  resolved: ResolvedSqlOptions,
  credential: Pick<TokenProvider, 'getToken'>,
): ConnectionConfiguration {
  return {
    server: resolved.server,
    authentication: { type: 'token-credential', options: { credential } },
    options: {
      port: resolved.port,
      database: resolved.database,
      encrypt: resolved.encrypt,
      trustServerCertificate: false,
      ...(resolved.ca === undefined ? {} : { cryptoCredentialsDetails: { ca: resolved.ca } }),
      // A backstop only: login-timeouts.ts bounds the server and the token wait apart, each by connectTimeoutMs.
      connectTimeout: LoginTimeouts.backstopMs(resolved.connectTimeoutMs),
      requestTimeout: resolved.requestTimeoutMs,
      // keyless retries with Azure SQL's whole transient list and backoff (tedious knows six numbers).
      maxRetriesOnTransientErrors: 0,
      appName: 'keyless',
      debug: { ...noDebugOutput },
    },
  };
}

/**
 * Opens and logs in one connection. Transient failures are retried on the schedule of
 * login-retry-schedule.ts: Azure SQL's transient errors for up to `loginRetry.budgetMs`, a socket
 * that failed a few times quickly.
 */
/** A login's OpenTelemetry attributes (semantic-convention names; no token). */
function loginAttributes(context: LoginContext) {
  return {
    'db.system.name': 'microsoft.sql_server',
    'server.address': context.server,
    'server.port': context.port,
    'db.namespace': context.database,
  };
}

export async function openConnection(options: ConnectionFactoryOptions): Promise<PooledConnection> {
  const now = options.now ?? Date.now;
  const context: LoginContext = {
    server: options.resolved.server,
    port: options.resolved.port,
    database: options.resolved.database,
    identity: options.identity,
    connectTimeoutMs: options.resolved.connectTimeoutMs,
    loginRetryBudgetMs: options.resolved.loginRetry.budgetMs,
  };
  const startedAt = now();
  const schedule = new LoginRetrySchedule(options.resolved.loginRetry, startedAt);
  const ridingOut = new RidingOut(options.progress);
  try {
    for (let attempt = 1; ; attempt += 1) {
      if (options.signal.aborted) throw new ClosedError('SqlConnector');
      assertSqlDestination(options.resolved.server);
      try {
        const connection = await connectOnce(options);
        recordLogin(loginAttributes(context), now() - startedAt);
        return connection;
      } catch (failure) {
        if (options.signal.aborted) throw new ClosedError('SqlConnector');
        const loginFailure = failure as LoginFailure;
        const kind = transientLoginFailureKind(loginFailure);
        const delay = kind === undefined ? undefined : schedule.nextDelay(kind, now());
        if (delay === undefined) {
          const mapped = mapLoginFailure(loginFailure, context, {
            attempts: attempt,
            elapsedMs: now() - startedAt,
          });
          recordLogin(loginAttributes(context), now() - startedAt, mapped);
          throw mapped;
        }
        if (kind === 'server') ridingOut.begin();
        await sleep(delay, options.signal);
      }
    }
  } finally {
    ridingOut.end();
  }
}

/**
 * Counts this login in `progress` as riding out a transient server error, from the first such
 * error until the login ends either way, so that queries waiting for a connection wait for it.
 */
class RidingOut {
  readonly #progress: LoginProgress | undefined;
  #counted = false;

  constructor(progress: LoginProgress | undefined) {
    this.#progress = progress;
  }

  begin(): void {
    if (this.#progress === undefined || this.#counted) return;
    this.#counted = true;
    this.#progress.loginsRidingOut += 1;
  }

  end(): void {
    if (this.#progress === undefined || !this.#counted) return;
    this.#counted = false;
    this.#progress.loginsRidingOut -= 1;
  }
}

function connectOnce(options: ConnectionFactoryOptions) {
  const now = options.now ?? Date.now;
  const attempt: LoginAttempt = {
    tokenPending: false,
    destination: options.resolved.server,
    tokenExpiresOn: undefined,
  };
  // Set once the login's promise exists (below); the bounds start with the connect.
  let onTimeout: (kind: LoginTimeoutKind) => void = () => undefined;
  const timeouts = new LoginTimeouts(options.resolved.connectTimeoutMs, (kind) => onTimeout(kind));
  // Asked right after the connect starts (below): the provider's first call does synchronous work
  // (its backend's set-up), which then runs while the TCP handshake is in flight, not before it.
  const early: { token?: EarlyToken } = {};
  const credential = guardedCredential(options.credential, attempt, options.progress, timeouts, early);
  const connection = new Connection(tediousConfiguration(options.resolved, credential));
  followRedirects(connection, attempt, timeouts);
  const pooled = new PooledConnection(
    connection,
    `${options.resolved.server}:${options.resolved.port}/${options.resolved.database}`,
    now(),
  );
  // The login error's number (18456, 4060, 40613, …) arrives only as an ERROR token event.
  const serverErrors: ServerLoginError[] = [];
  const onErrorMessage = (token: { number: number; message: string; state: number; class: number }) => {
    serverErrors.push({
      number: token.number,
      message: token.message,
      state: token.state,
      class: token.class,
    });
  };
  connection.on('errorMessage', onErrorMessage);
  options.onConnection?.(connection);
  return new Promise<PooledConnection>((resolve, reject) => {
    const onAbort = () => connection.close();
    let settled = false;
    const settle = () => {
      settled = true;
      timeouts.stop();
      options.signal.removeEventListener('abort', onAbort);
      connection.off('errorMessage', onErrorMessage);
    };
    onTimeout = (kind) => {
      if (settled) return;
      settle();
      // Failed now, not when tedious notices the close (how and when it reports a close during a
      // login differs between its versions): the bound holds, and the error says which one ran out.
      void pooled.close();
      reject({
        error: loginTimeoutError(options.resolved, attempt.destination, kind),
        serverErrors,
        tokenPending: kind === 'token',
      } satisfies LoginFailure);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    timeouts.start();
    connection.connect((error) => {
      if (settled) return;
      settle();
      if (error) {
        void pooled.close();
        reject({ error, serverErrors, tokenPending: attempt.tokenPending } satisfies LoginFailure);
        return;
      }
      pooled.loggedIn(now(), attempt.tokenExpiresOn);
      resolve(pooled);
    });
    const scope = options.askTokenEarly ? knownTokenScope(options.resolved.server) : undefined;
    if (scope !== undefined) early.token = new EarlyToken(options.credential, scope);
  });
}

/** tedious's own timeout error (code ETIMEOUT), for one of the two bounds of login-timeouts.ts. */
function loginTimeoutError(
  resolved: ResolvedSqlOptions,
  destination: string,
  kind: LoginTimeoutKind,
): ConnectionError {
  const limit = `${resolved.connectTimeoutMs}ms`;
  return new ConnectionError(
    kind === 'token'
      ? `No token from the credential within ${limit} (connecting to ${destination}:${resolved.port})`
      : `Failed to connect to ${destination}:${resolved.port} in ${limit}`,
    'ETIMEOUT',
  );
}

function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, milliseconds);
    timer.unref();
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
