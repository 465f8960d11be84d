import { ServiceUnavailableError } from '@keyless/core';
import { RequestError } from 'tedious';

/** Client-side codes after which the connection's state is unknown: it is closed, not reused. */
const connectionLostCodes = new Set(['ESOCKET', 'ECLOSE', 'EINVALIDSTATE', 'ECONNRESET']);

/**
 * Azure SQL's answers to a statement on a session whose login token has expired: 18456 "Login failed
 * for user '…'. Token is expired." (the server then closes the session) and 37396 "Query cannot be
 * executed, access token is expired. Please login with a new access token and execute query again."
 * Neither is the application's business: a session cannot take a new token, a new login can
 * (https://github.com/dotnet/SqlClient/issues/2792).
 */
const tokenExpiredDuringSession = 37396;
const loginFailed = 18456;

/** What a failed request means for the caller, and whether its connection may be reused. */
export interface QueryFailure {
  error: Error;
  connectionBroken: boolean;
  /** The server refused the request because the session's token expired: a fresh login can run it. */
  sessionTokenExpired: boolean;
  /** The session ended (closed by the server, or the socket dropped) before the request was answered. */
  connectionLost: boolean;
}

export interface QueryContext {
  /** `server:port/database`, for the message. */
  describeServer: string;
  /** tedious has reported the end of the connection. */
  connectionEnded: boolean;
}

export function isSessionTokenExpiry(error: Error): error is RequestError {
  if (!(error instanceof RequestError)) return false;
  if (error.number === tokenExpiredDuringSession) return true;
  return error.number === loginFailed && /Token is expired/i.test(error.message);
}

/**
 * A server error (it has a number) leaves the connection usable: that is the application's
 * business (syntax, permissions on a table, a constraint) and is returned as tedious reported it —
 * except the session's token expiring, which retires the connection. Anything else means the
 * connection's state is unknown, so it is retired; a lost connection becomes `unavailable`.
 */
export function mapQueryError(error: Error, context: QueryContext): QueryFailure {
  if (isSessionTokenExpiry(error)) {
    return {
      error: sessionTokenExpiredError(error, context.describeServer),
      connectionBroken: true,
      sessionTokenExpired: true,
      connectionLost: false,
    };
  }
  if (error instanceof RequestError && error.number !== undefined) {
    return { error, connectionBroken: false, sessionTokenExpired: false, connectionLost: false };
  }
  const code = (error as { code?: unknown }).code;
  if (context.connectionEnded || (typeof code === 'string' && connectionLostCodes.has(code))) {
    return {
      error: connectionLostError(context.describeServer, error),
      connectionBroken: true,
      sessionTokenExpired: false,
      connectionLost: true,
    };
  }
  return { error, connectionBroken: true, sessionTokenExpired: false, connectionLost: false };
}

export function connectionLostError(describeServer: string, cause?: Error): ServiceUnavailableError {
  return new ServiceUnavailableError(`The connection to Azure SQL at ${describeServer} was lost`, {
    cause,
    hint: 'the server closed the connection or became unreachable (failover, restart, network); the next query opens a new one',
  });
}

function sessionTokenExpiredError(error: RequestError, describeServer: string): ServiceUnavailableError {
  return new ServiceUnavailableError(
    `Azure SQL at ${describeServer} refused the statement: the session's login token has expired (error ${error.number})`,
    {
      cause: error,
      status: error.number,
      hint: 'a session cannot take a new token, so keyless retires pooled connections before their token expires and runs a statement refused this way once more on a fresh login; it does not re-run one inside a transaction, or one the server had started: run it (or the whole transaction) again',
    },
  );
}
