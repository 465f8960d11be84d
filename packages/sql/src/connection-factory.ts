import { ClosedError, type TokenProvider } from '@keyless/core';
import { assertSecretDestination, backoffDelay } from '@keyless/core/internal';
import { Connection, type ConnectionConfiguration } from 'tedious';
import {
  isTransientLoginFailure,
  type LoginContext,
  type LoginFailure,
  mapLoginFailure,
  type ServerLoginError,
} from './login-error-mapping.js';
import { sqlService } from './option-guard.js';
import { PooledConnection } from './pooled-connection.js';
import type { ResolvedSqlOptions } from './sql-options.js';

export interface ConnectionFactoryOptions {
  resolved: ResolvedSqlOptions;
  /** The one credential every connection logs in with: the shared provider. */
  credential: TokenProvider;
  identity: string;
  /** Stops retries and a login under way when the connector closes. */
  signal: AbortSignal;
  /** Test hook: sees each tedious Connection before it connects. */
  onConnection?: (connection: Connection) => void;
  /** Shared with the pool, so that an acquire that times out can say what the login waits for. */
  progress?: LoginProgress;
  now?: () => number;
}

/** How many logins are waiting for the token provider right now. */
export interface LoginProgress {
  pendingTokenRequests: number;
}

/** Attempts per new connection: one, plus retries of transient failures. */
export const maxLoginAttempts = 4;
const retryBackoff = { baseDelayMs: 250, maxDelayMs: 4_000 };

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

/**
 * The credential tedious calls once the TLS handshake is done, just before it sends the token; one
 * per login attempt. Checking the destination here as well as before the connect brackets the
 * handshake: the variable cannot have switched verification off for it without being seen at one
 * end or the other. It also records whether the attempt is waiting for the provider, because
 * tedious's connect timeout covers the token request and reports it as the server's ETIMEOUT.
 */
function guardedCredential(
  credential: TokenProvider,
  server: string,
  attempt: { tokenPending: boolean },
  progress: LoginProgress | undefined,
): Pick<TokenProvider, 'getToken'> {
  return {
    getToken: async (scopes, getTokenOptions) => {
      assertSqlDestination(server);
      attempt.tokenPending = true;
      if (progress) progress.pendingTokenRequests += 1;
      try {
        return await credential.getToken(scopes, getTokenOptions);
      } finally {
        attempt.tokenPending = false;
        if (progress) progress.pendingTokenRequests -= 1;
      }
    },
  };
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
      connectTimeout: resolved.connectTimeoutMs,
      requestTimeout: resolved.requestTimeoutMs,
      // keyless retries with Azure SQL's whole transient list and backoff (tedious knows six numbers).
      maxRetriesOnTransientErrors: 0,
      appName: 'keyless',
      debug: { ...noDebugOutput },
    },
  };
}

/** Opens and logs in one connection, retrying transient failures a bounded number of times. */
export async function openConnection(options: ConnectionFactoryOptions): Promise<PooledConnection> {
  const context: LoginContext = {
    server: options.resolved.server,
    port: options.resolved.port,
    database: options.resolved.database,
    identity: options.identity,
    connectTimeoutMs: options.resolved.connectTimeoutMs,
  };
  for (let attempt = 1; ; attempt += 1) {
    if (options.signal.aborted) throw new ClosedError('SqlConnector');
    assertSqlDestination(options.resolved.server);
    try {
      return await connectOnce(options);
    } catch (failure) {
      if (options.signal.aborted) throw new ClosedError('SqlConnector');
      const loginFailure = failure as LoginFailure;
      if (attempt >= maxLoginAttempts || !isTransientLoginFailure(loginFailure)) {
        throw mapLoginFailure(loginFailure, context);
      }
      await sleep(backoffDelay(attempt, retryBackoff), options.signal);
    }
  }
}

function connectOnce(options: ConnectionFactoryOptions) {
  const now = options.now ?? Date.now;
  const attempt = { tokenPending: false };
  const credential = guardedCredential(
    options.credential,
    options.resolved.server,
    attempt,
    options.progress,
  );
  const connection = new Connection(tediousConfiguration(options.resolved, credential));
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
    options.signal.addEventListener('abort', onAbort, { once: true });
    connection.connect((error) => {
      options.signal.removeEventListener('abort', onAbort);
      connection.off('errorMessage', onErrorMessage);
      if (error) {
        void pooled.close();
        reject({ error, serverErrors, tokenPending: attempt.tokenPending } satisfies LoginFailure);
        return;
      }
      resolve(pooled);
    });
  });
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
