import { ServiceUnavailableError } from '@keyless/core';
import { RequestError } from 'tedious';

/** Client-side codes after which the connection's state is unknown: it is closed, not reused. */
const connectionLostCodes = new Set(['ESOCKET', 'ECLOSE', 'EINVALIDSTATE', 'ECONNRESET']);

/** What a failed request means for the caller, and whether its connection may be reused. */
export interface QueryFailure {
  error: Error;
  connectionBroken: boolean;
}

export interface QueryContext {
  /** `server:port/database`, for the message. */
  describeServer: string;
  /** tedious has reported the connection's end. */
  connectionEnded: boolean;
}

/**
 * A server error (it has a number) leaves the connection usable: that is the application's
 * business (syntax, permissions on a table, a constraint) and is returned as tedious reported it.
 * Anything else means the connection's state is unknown, so it is retired; a lost connection
 * becomes `unavailable`.
 */
export function mapQueryError(error: Error, context: QueryContext): QueryFailure {
  if (error instanceof RequestError && error.number !== undefined) return { error, connectionBroken: false };
  const code = (error as { code?: unknown }).code;
  if (context.connectionEnded || (typeof code === 'string' && connectionLostCodes.has(code))) {
    return { error: connectionLostError(context.describeServer, error), connectionBroken: true };
  }
  return { error, connectionBroken: true };
}

export function connectionLostError(describeServer: string, cause?: Error): ServiceUnavailableError {
  return new ServiceUnavailableError(`The connection to Azure SQL at ${describeServer} was lost`, {
    cause,
    hint: 'the server closed the connection or became unreachable (failover, restart, network); the next query opens a new one',
  });
}
