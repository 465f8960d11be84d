import {
  AuthenticationFailedError,
  ConfigurationError,
  isKeylessError,
  isNetworkFailureCode,
  redactKnownSecrets,
  ServiceUnavailableError,
} from '@keyless/core';
import type { PostgresPasswordMode } from './password-source.js';

export interface PostgresErrorContext {
  mode: PostgresPasswordMode;
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
const certificateCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** pg reports a dropped socket by message only. */
const droppedConnectionMessages = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

/** The SQLSTATE of a PostgreSQL error (pg's DatabaseError), if it is one. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
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
 */
export function mapPostgresError(error: unknown, context: PostgresErrorContext): unknown {
  if (isKeylessError(error)) return error;
  const state = sqlStateOf(error);
  const server = `${context.host}:${context.port}`;
  const reason = error instanceof Error ? redactKnownSecrets(error.message) : 'unknown error';
  if (state !== undefined && authenticationStates.has(state)) {
    return new AuthenticationFailedError(
      `PostgreSQL at ${server} refused the login of user "${context.user}" (SQLSTATE ${state})` +
        (context.retried ? ', also with the password read afresh' : ''),
      { cause: error, hint: authenticationHint(context) },
    );
  }
  if (state === '3D000') {
    return new ConfigurationError(`PostgreSQL at ${server}: ${reason}`, {
      cause: error,
      hint: 'create the database (`az postgres flexible-server db create`) or fix the option `database` / the environment variable KEYLESS_POSTGRES_DATABASE',
    });
  }
  if (state !== undefined && unavailableStates.has(state)) {
    return new ServiceUnavailableError(
      `PostgreSQL at ${server} is not available: ${reason} (SQLSTATE ${state})`,
      {
        cause: error,
        hint: 'the server is restarting, failing over or out of connections; try again shortly',
      },
    );
  }
  const code = errorCode(error);
  if (code !== undefined && certificateCodes.has(code)) {
    return new ConfigurationError(
      `PostgreSQL at ${server}: the server's TLS certificate is not trusted (${code})`,
      {
        cause: error,
        hint: 'trust its CA: start Node with NODE_EXTRA_CA_CERTS=<ca.pem> or pass `ssl: { ca }`; verification is never turned off (locally, `keyless-local up` prints NODE_EXTRA_CA_CERTS)',
      },
    );
  }
  if (error instanceof Error && /does not support SSL/i.test(error.message)) {
    return new ConfigurationError(`PostgreSQL at ${server} does not offer TLS`, {
      cause: error,
      hint: 'enable TLS on the server (Azure always has it), or pass `ssl: false` for a loopback test server only',
    });
  }
  if (
    isNetworkFailureCode(code) ||
    (error instanceof Error && droppedConnectionMessages.some((message) => error.message.includes(message)))
  ) {
    return new ServiceUnavailableError(`PostgreSQL at ${server} could not be reached: ${reason}`, {
      cause: error,
      hint: `check that ${context.host} resolves and port ${context.port} is reachable from here (firewall rules, private endpoint, server started); locally, start it with \`keyless-local up postgres\``,
    });
  }
  return error;
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
  if (isNetworkFailureCode(errorCode(error))) return true;
  return (
    error instanceof Error && closedDuringStartupMessages.some((message) => error.message.includes(message))
  );
}

function authenticationHint(context: PostgresErrorContext): string {
  if (context.mode === 'entra-token') {
    return `create the role for the identity: SELECT * FROM pgaadauth_create_principal('${context.user}', false, false); and connect with user = the identity's name (Entra authentication must be enabled on the server, and the token must be for https://ossrdbms-aad.database.windows.net)`;
  }
  return `the password in Key Vault secret '${context.secretName ?? '?'}' does not match user "${context.user}" on the server: store the server's current password as a new version of the secret (rotation jobs: change the server and the secret together), and check the option \`user\` / KEYLESS_POSTGRES_USER`;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (current instanceof AggregateError) {
      const inner = current.errors.map(errorCode).find((value) => value !== undefined);
      if (inner !== undefined) return inner;
    }
    current = current.cause;
  }
  return undefined;
}
