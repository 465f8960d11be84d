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
  /** `loginRetry.budgetMs`, for the advice after a transient error that outlasted it. */
  loginRetryBudgetMs: number;
}

export const sqlScope = 'https://database.windows.net/.default';

/**
 * Azure SQL's transient login errors: Microsoft's list (926, 4060, 40197, 40501, 40613, 49918,
 * 49919, 49920, 4221, 615 —
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues#list-of-transient-fault-error-codes),
 * and the resource-governance and transport numbers Microsoft's own retry providers add to it
 * (10928, 10929, 10053, 10054, 10060, 40143 —
 * https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconfigurableretryfactory.baselinetransienterrors).
 * tedious knows only six of them. 4060 ("Cannot open database … requested by the login") is on
 * Microsoft's list: during a reconfiguration the database is briefly not there to open. A database
 * name that is simply wrong gives the same number, so its final error says both.
 */
const transientServerErrors = new Set([
  926, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 4221, 615, 10928, 10929, 10053, 10054, 10060, 40143,
]);
const transientClientCodes = new Set(['ESOCKET', 'ETIMEOUT']);
const loginRefused = 18456;
const databaseUnavailable = 4060;
const tokenRejections = [
  /Token is expired/i,
  /not currently configured to accept this token/i,
  /Incorrect or invalid token/i,
];

/** Which retry schedule a failed login gets, if any (see login-retry-schedule.ts). */
export type TransientLoginFailureKind = 'server' | 'network';

/**
 * `server`: Azure SQL answered with a transient error number (Microsoft's schedule: 5 s, then
 * longer, for up to the budget). `network`: the socket failed or timed out (a few quick retries).
 * Undefined: no retry can help (a refused login, a certificate, the token provider's own error).
 */
export function transientLoginFailureKind(failure: LoginFailure): TransientLoginFailureKind | undefined {
  // tedious wraps a credential's failure as AggregateError([EFEDAUTH, cause]); core's search looks inside.
  if (findKeylessError(failure.error) !== undefined) return undefined;
  if (certificateFailureCode(failure.error) !== undefined) return undefined;
  // Another login would wait for the same token request; the provider retries on its own.
  if (failure.tokenPending) return undefined;
  const verdict = pickServerError(failure.serverErrors);
  if (verdict !== undefined) return transientServerErrors.has(verdict.number) ? 'server' : undefined;
  return transientClientCodes.has(clientCode(failure.error) ?? '') ? 'network' : undefined;
}

/** Whether a fresh connection attempt can succeed where this one failed. */
export function isTransientLoginFailure(failure: LoginFailure): boolean {
  return transientLoginFailureKind(failure) !== undefined;
}

/** How long the login kept trying before this failure became the answer. */
export interface LoginRetryHistory {
  attempts: number;
  elapsedMs: number;
}

/** Turns a failed tedious login into the keyless error that says what to do about it. */
export function mapLoginFailure(
  failure: LoginFailure,
  context: LoginContext,
  history?: LoginRetryHistory,
): KeylessError {
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
      return new ServiceUnavailableError(
        `Azure SQL at ${where} is temporarily unavailable${retriedFor(history)}: ${detail}`,
        {
          cause: failure.error,
          status: serverError.number,
          hint: transientHint(serverError.number, context),
        },
      );
    }
    return new AuthenticationFailedError(`Azure SQL at ${where} refused the login: ${detail}`, {
      cause: failure.error,
      status: serverError.number,
    });
  }
  const code = clientCode(failure.error);
  if (code === 'ETIMEOUT' && failure.tokenPending) {
    // The token wait's own bound ran out (login-timeouts.ts): the server was reached, the provider was not.
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
    const redirect = redirectTarget(failure.error);
    const redirected = redirect === undefined ? '' : `; the gateway redirected the login to ${redirect}`;
    return new ServiceUnavailableError(
      `Azure SQL at ${where} could not be reached (${code ?? 'no answer'})${redirected}`,
      { cause: failure.error, hint: unreachableHint(context, redirect !== undefined) },
    );
  }
  return new AuthenticationFailedError(`The login to Azure SQL at ${where} failed (${code})`, {
    cause: failure.error,
  });
}

/** Shared with the pool's acquire timeout, which can end the same wait first. */
export const tokenProviderSlowHint =
  'the SQL server answered, but the managed-identity endpoint (IDENTITY_ENDPOINT on App Service, IMDS on a VM) is slow or not answering; the token provider reports its own errors when it gives up. If it is only slow, raise connectTimeoutMs and pool.acquireTimeoutMs';

/**
 * Host names of Azure SQL Database, SQL Managed Instance and Synapse SQL in Azure's clouds: the
 * servers whose gateway may redirect a login to the node itself (ports 11000–11999).
 */
const azureSqlHost =
  /\.(database\.windows\.net|database\.chinacloudapi\.cn|database\.usgovcloudapi\.net|sql\.azuresynapse\.net)$/i;

/**
 * Where the socket could not go. Under the Redirect connection policy (the default for clients inside
 * Azure) the gateway on 1433 hands the login to the database's node on a port in 11000–11999, and
 * a firewall or NSG that only allows 1433 breaks the second connection:
 * https://learn.microsoft.com/azure/azure-sql/database/connectivity-architecture#connection-policy
 */
function unreachableHint(context: LoginContext, redirected: boolean): string {
  const target = `${context.server}:${context.port}`;
  if (!azureSqlHost.test(context.server) && !redirected) {
    return `check that ${target} resolves and is reachable from here (firewall rules of the server, private endpoint, outbound port ${context.port}); locally, start it with \`keyless-local up sql\``;
  }
  const redirectPorts =
    'outbound TCP 11000–11999 to the Azure SQL addresses of the region (service tag Sql.<region>), which the Redirect connection policy — the default for clients inside Azure — uses after the gateway';
  if (redirected) {
    return `the gateway answered on ${target} and redirected the login to the database's node, which could not be reached: allow ${redirectPorts}, or set the server's connection policy to Proxy (1433 only: az sql server conn-policy update --connection-type Proxy)`;
  }
  return `check that ${target} resolves and is reachable from here: the server's firewall rules (or a private endpoint), outbound TCP ${context.port} to the gateway, and ${redirectPorts}`;
}

/** tedious names the redirect target in its message: "Failed to connect to <host>:<port> (redirected from …)". */
function redirectTarget(error: unknown): string | undefined {
  const first = error instanceof AggregateError ? error.errors[0] : error;
  const message = (first as { message?: unknown } | undefined)?.message;
  if (typeof message !== 'string') return undefined;
  return /Failed to connect to (\S+) \(redirected from /.exec(message)?.[1];
}

function retriedFor(history: LoginRetryHistory | undefined): string {
  if (history === undefined || history.attempts < 2) return '';
  return ` after ${history.attempts} login attempts over ${Math.round(history.elapsedMs / 1_000)} s`;
}

function transientHint(number: number, context: LoginContext): string {
  const reconfiguration = `Azure SQL answers this while the database is reconfigured (patching, scaling, failover, serverless resume) or at its resource limits; keyless retried for up to loginRetry.budgetMs (${context.loginRetryBudgetMs} ms) — most reconfigurations end within 60 s. If it lasts longer, check Azure Service Health and the database's resource use, or raise loginRetry.budgetMs`;
  if (number !== databaseUnavailable) return reconfiguration;
  return `${reconfiguration}. If it does not go away, check that \`database\` / KEYLESS_SQL_DATABASE names an existing database (${context.database}) and that the identity (${context.identity}) has a user in it: CREATE USER [<identity name>] FROM EXTERNAL PROVIDER`;
}

/**
 * The error that decides: a transient one wherever it is (4060 is followed by 18456, and the 4060
 * says more), otherwise the last.
 */
function pickServerError(errors: readonly ServerLoginError[]): ServerLoginError | undefined {
  return errors.find((error) => transientServerErrors.has(error.number)) ?? errors.at(-1);
}

function clientCode(error: unknown): string | undefined {
  const first = error instanceof AggregateError ? error.errors[0] : error;
  const code = (first as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
