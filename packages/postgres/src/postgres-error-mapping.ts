import {
  AuthenticationFailedError,
  ConfigurationError,
  isKeylessError,
  type PasswordSource,
  ServiceUnavailableError,
} from '@keyless/core';
import { isNetworkFailure, maxErrorTextLength, untrustedCertificateError } from '@keyless/core/internal';
import { ConnectTimeoutError } from './keyless-pool.js';

export interface PostgresErrorContext {
  mode: PasswordSource['kind'];
  host: string;
  port: number;
  database: string | undefined;
  user: string;
  /** Secret mode: the secret whose value the server refused. */
  secretName?: string | undefined;
  /** The refused connect was already retried with a freshly read password. */
  retried?: boolean;
}

const authenticationStates = new Set(['28P01', '28000']);
/** admin_shutdown, crash_shutdown, cannot_connect_now (starting up / shutting down / failover). */
const unavailableStates = new Set(['57P01', '57P02', '57P03', '53300']);
/** pg reports a dropped socket by message only. */
const droppedConnectionMessages = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

/**
 * The SQLSTATE of a PostgreSQL error (pg's DatabaseError), if it is one. Five characters like
 * `EPIPE` are Node's own system errors, which carry `errno` and `syscall`.
 */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || 'errno' in error || 'syscall' in error) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isAuthenticationFailure(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state !== undefined && authenticationStates.has(state);
}

/**
 * Turns what pg throws into keyless errors where the cause is ours to explain (login, TLS trust,
 * reachability, a missing database) and returns anything else unchanged: a syntax error or a
 * constraint violation is the application's business.
 *
 * PostgreSQL quotes offending values in its messages (`SELECT $1::int` with a 140 KB string puts
 * all of it in the message), and this runs for every failed query: the message is read only where
 * a keyless error is built, and then only its first `maxErrorTextLength` characters (KeylessError
 * redacts and bounds its own text). An error returned unchanged costs no pass over its text.
 */
export function mapPostgresError(error: unknown, context: PostgresErrorContext): unknown {
  if (isKeylessError(error)) return error;
  const state = sqlStateOf(error);
  const server = `${context.host}:${context.port}`;
  if (state !== undefined) return mapServerError(error, state, server, context);
  const untrusted = untrustedCertificateError(error, {
    service: 'PostgreSQL',
    target: server,
    caOption: 'ssl.ca',
  });
  if (untrusted !== undefined) return untrusted;
  if (error instanceof ConnectTimeoutError) {
    return new ServiceUnavailableError(
      `PostgreSQL at ${server} did not complete the login within ${error.timeoutMs} ms`,
      {
        cause: error,
        hint: `check that ${context.host} is the server and port ${context.port} reaches it (a firewall that drops packets looks like this), or raise the option \`connectTimeoutMs\``,
      },
    );
  }
  const message = shortMessage(error);
  if (/does not support SSL/i.test(message)) {
    return new ConfigurationError(`PostgreSQL at ${server} does not offer TLS`, {
      cause: error,
      hint: 'enable TLS on the server (Azure always has it), or pass `ssl: false` for a loopback test server only',
    });
  }
  if (isNetworkFailure(error) || droppedConnectionMessages.some((dropped) => message.includes(dropped))) {
    return new ServiceUnavailableError(`PostgreSQL at ${server} could not be reached: ${message}`, {
      cause: error,
      hint: `check that ${context.host} resolves and port ${context.port} is reachable from here (firewall rules, private endpoint, server started); locally, start it with \`keyless-local up postgres\``,
    });
  }
  return error;
}

/** An error the server sent (it has a SQLSTATE): a login, a missing database, a restart, or the application's. */
function mapServerError(
  error: unknown,
  state: string,
  server: string,
  context: PostgresErrorContext,
): unknown {
  if (authenticationStates.has(state)) {
    return new AuthenticationFailedError(
      `PostgreSQL at ${server} refused the login of user "${context.user}" (SQLSTATE ${state})` +
        (context.retried ? ', also with the password read afresh' : ''),
      { cause: error, hint: authenticationHint(context) },
    );
  }
  if (state === '3D000') {
    return new ConfigurationError(`PostgreSQL at ${server}: ${shortMessage(error)}`, {
      cause: error,
      hint: 'create the database (`az postgres flexible-server db create`) or fix the option `database` / the environment variable KEYLESS_POSTGRES_DATABASE',
    });
  }
  if (unavailableStates.has(state)) {
    return new ServiceUnavailableError(
      `PostgreSQL at ${server} is not available: ${shortMessage(error)} (SQLSTATE ${state})`,
      {
        cause: error,
        hint: 'the server is restarting, failing over or out of connections; try again shortly',
      },
    );
  }
  return error;
}

/**
 * The start of an error's message, for building a keyless error or matching pg's own short
 * messages: never more than the error text keyless keeps, whatever the server echoed.
 */
function shortMessage(error: unknown): string {
  if (!(error instanceof Error) || typeof error.message !== 'string') return 'unknown error';
  return error.message.length <= maxErrorTextLength
    ? error.message
    : error.message.slice(0, maxErrorTextLength);
}

/** pg's messages for a server that closed the socket during the startup exchange. */
const closedDuringStartupMessages = ['Connection terminated unexpectedly'];

/**
 * A connect that failed before any session existed, for a reason that passes on its own: the server
 * refused or reset the connection, is starting up or shutting down (restart, failover, scaling), or
 * is out of connection slots. Retrying such a connect repeats nothing, since nothing was sent.
 */
export function isTransientConnectFailure(error: unknown): boolean {
  const state = sqlStateOf(error);
  if (state !== undefined) return unavailableStates.has(state);
  if (isNetworkFailure(error) || error instanceof ConnectTimeoutError) return true;
  const message = shortMessage(error);
  return closedDuringStartupMessages.some((closed) => message.includes(closed));
}

/** Object ids and client ids are GUIDs; Azure's role names for identities are display names. */
const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Azure's rule, from https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users:
 * `pgaadauth_create_principal('<roleName>', …)` needs roleName to be the principal's name — for a
 * service principal or managed identity its *display name*; `pgaadauth_create_principal_with_oid`
 * binds a role of any name to the object id (for an application, its service principal's object id).
 */
function authenticationHint(context: PostgresErrorContext): string {
  if (context.mode === 'entra-token') {
    const requirements =
      'Entra authentication must be enabled on the server, and the token must be for https://ossrdbms-aad.database.windows.net; see https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users';
    if (guidPattern.test(context.user)) {
      return `user "${context.user}" looks like an object or client id, but Azure names an identity's role after the identity's display name (a user-assigned identity's resource name): as the server's Entra admin run SELECT * FROM pgaadauth_create_principal('<display name of the identity>', false, false); and connect with user = that display name — or bind a role name of your choosing to the identity's object (principal) id, not its client id: SELECT * FROM pgaadauth_create_principal_with_oid('<role name>', '<object id>', 'service', false, false); and connect with user = '<role name>' (${requirements})`;
    }
    return `create the role for the identity: SELECT * FROM pgaadauth_create_principal('${context.user}', false, false); and connect with user = the identity's name, which must be its display name in Entra ID (or bind any role name to its object id with pgaadauth_create_principal_with_oid('${context.user}', '<object id>', 'service', false, false)) (${requirements})`;
  }
  return `the password in Key Vault secret '${context.secretName ?? '?'}' does not match user "${context.user}" on the server: store the server's current password as a new version of the secret (rotation jobs: change the server and the secret together), and check the option \`user\` / KEYLESS_POSTGRES_USER`;
}
