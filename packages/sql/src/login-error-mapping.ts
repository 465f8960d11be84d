import {
  AuthenticationFailedError,
  AuthorizationError,
  findKeylessError,
  type KeylessError,
  ServiceUnavailableError,
} from '@keyless/core';
import { certificateFailureCode, untrustedCertificateError } from '@keyless/core/internal';
import { sqlService } from './option-guard.js';

/** An ERROR token the server sent while the login was under way (tedious keeps only the text). */
export interface ServerLoginError {
  number: number;
  message: string;
  state: number;
  class: number;
}

export interface LoginFailure {
  /** What tedious's connect callback received. */
  error: unknown;
  /** Every ERROR token of the login, in order: the number (18456, 4060, …) is only found here. */
  serverErrors: readonly ServerLoginError[];
  /** Whether the login was still waiting for the token provider when it failed. */
  tokenPending?: boolean;
}

export interface LoginContext {
  server: string;
  port: number;
  database: string;
  /** The provider's printable identity, e.g. `user-assigned client-id …`. */
  identity: string;
  connectTimeoutMs: number;
}

export const sqlScope = 'https://database.windows.net/.default';

/**
 * Azure SQL's transient login errors (the list Microsoft's retry guidance gives; tedious knows only
 * six of them). 4060 is left out on purpose: against Azure it almost always means a wrong database
 * name, which no retry fixes.
 */
const transientServerErrors = new Set([
  40197, 40501, 40613, 49918, 49919, 49920, 4221, 10928, 10929, 10053, 10054, 10060, 40143,
]);
const transientClientCodes = new Set(['ESOCKET', 'ETIMEOUT']);
const loginRefused = 18456;
const databaseUnavailable = 4060;
const tokenRejections = [
  /Token is expired/i,
  /not currently configured to accept this token/i,
  /Incorrect or invalid token/i,
];
/** Whether a fresh connection attempt can succeed where this one failed. */
export function isTransientLoginFailure(failure: LoginFailure): boolean {
  // tedious wraps a credential's failure as AggregateError([EFEDAUTH, cause]); core's search looks inside.
  if (findKeylessError(failure.error) !== undefined) return false;
  if (certificateFailureCode(failure.error) !== undefined) return false;
  // Another login would wait for the same token request; the provider retries on its own.
  if (failure.tokenPending) return false;
  const last = failure.serverErrors.at(-1);
  if (last !== undefined) return transientServerErrors.has(last.number);
  return transientClientCodes.has(clientCode(failure.error) ?? '');
}

/** Turns a failed tedious login into the keyless error that says what to do about it. */
export function mapLoginFailure(failure: LoginFailure, context: LoginContext): KeylessError {
  const fromProvider = findKeylessError(failure.error);
  if (fromProvider) return fromProvider;
  const where = `${context.server}:${context.port}/${context.database}`;
  // The one certificate error all keyless connectors give (same code, same hint).
  const untrusted = untrustedCertificateError(failure.error, {
    service: sqlService,
    target: `${context.server}:${context.port}`,
    caOption: 'ca',
  });
  if (untrusted !== undefined) return untrusted;
  const serverError = pickServerError(failure.serverErrors);
  if (serverError !== undefined) {
    const detail = `${serverError.message} (error ${serverError.number}, state ${serverError.state})`;
    if (
      serverError.number === loginRefused &&
      tokenRejections.some((pattern) => pattern.test(serverError.message))
    ) {
      return new AuthenticationFailedError(`Azure SQL at ${where} rejected the token: ${detail}`, {
        cause: failure.error,
        status: serverError.number,
        hint: `the token must be for the audience ${sqlScope}, from the server's Entra tenant, and not expired; pass the keyless TokenProvider itself as the credential rather than a token for another resource`,
      });
    }
    if (serverError.number === databaseUnavailable) {
      return new AuthorizationError(`Azure SQL at ${where} refused the database: ${detail}`, {
        cause: failure.error,
        status: serverError.number,
        hint: `check that \`database\` / KEYLESS_SQL_DATABASE names an existing database, and that the identity (${context.identity}) has a user in it: CREATE USER [<identity name>] FROM EXTERNAL PROVIDER`,
      });
    }
    if (serverError.number === loginRefused) {
      return new AuthorizationError(
        `Azure SQL at ${where} refused the login of ${context.identity}: ${detail}`,
        {
          cause: failure.error,
          status: serverError.number,
          hint:
            `create a database user for the identity: CREATE USER [<identity name>] FROM EXTERNAL PROVIDER; ` +
            `and grant it a role (ALTER ROLE db_datareader ADD MEMBER [<identity name>]) — run both in the database ` +
            `${context.database} as the server's Entra admin (az sql server ad-admin create); <identity name> is the ` +
            `user-assigned identity's name, or the app's name for a system-assigned one`,
        },
      );
    }
    if (transientServerErrors.has(serverError.number)) {
      return unavailable(
        `Azure SQL at ${where} is temporarily unavailable: ${detail}`,
        failure.error,
        context,
      );
    }
    return new AuthenticationFailedError(`Azure SQL at ${where} refused the login: ${detail}`, {
      cause: failure.error,
      status: serverError.number,
    });
  }
  const code = clientCode(failure.error);
  if (code === 'ETIMEOUT' && failure.tokenPending) {
    // tedious's connect timeout covers the token request: the server was reached, the provider was not.
    return new ServiceUnavailableError(
      `No token for Azure SQL at ${where} within connectTimeoutMs (${context.connectTimeoutMs} ms): the token provider (${context.identity}) has not answered`,
      { cause: failure.error, hint: tokenProviderSlowHint },
    );
  }
  if (code === 'EFEDAUTH') {
    // tedious puts the credential's own error second in the AggregateError; none means it returned
    // null. The credential's error is the cause: it says what failed (and, kept at the top of the
    // chain, its message is redacted like every cause; AggregateError members are not).
    const credentialError: unknown =
      failure.error instanceof AggregateError ? failure.error.errors[1] : undefined;
    return new AuthenticationFailedError(
      `No token for Azure SQL at ${where}: the credential ${credentialError === undefined ? 'returned none' : 'failed (see the cause)'}`,
      { cause: credentialError ?? failure.error, hint: `the credential must return a token for ${sqlScope}` },
    );
  }
  if (code === 'ESOCKET' || code === 'ETIMEOUT' || code === undefined) {
    return unavailable(
      `Azure SQL at ${where} could not be reached (${code ?? 'no answer'})`,
      failure.error,
      context,
    );
  }
  return new AuthenticationFailedError(`The login to Azure SQL at ${where} failed (${code})`, {
    cause: failure.error,
  });
}

/** Shared with the pool's acquire timeout, which can end the same wait first. */
export const tokenProviderSlowHint =
  'the SQL server answered, but the managed-identity endpoint (IDENTITY_ENDPOINT on App Service, IMDS on a VM) is slow or not answering; the token provider reports its own errors when it gives up. If it is only slow, raise connectTimeoutMs and pool.acquireTimeoutMs';

function unavailable(message: string, cause: unknown, context: LoginContext): ServiceUnavailableError {
  return new ServiceUnavailableError(message, {
    cause,
    hint: `check that ${context.server}:${context.port} resolves and is reachable from here (firewall rules of the server, private endpoint, outbound port ${context.port}); locally, start it with \`keyless-local up sql\``,
  });
}

/** 4060 is followed by 18456; the 4060 says more. Otherwise the last error is the verdict. */
function pickServerError(errors: readonly ServerLoginError[]): ServerLoginError | undefined {
  return errors.find((error) => error.number === databaseUnavailable) ?? errors.at(-1);
}

function clientCode(error: unknown): string | undefined {
  const first = error instanceof AggregateError ? error.errors[0] : error;
  const code = (first as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
