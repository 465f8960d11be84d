import {
  AuthenticationFailedError,
  AuthorizationError,
  isKeylessError,
  type PasswordSource,
  ServiceUnavailableError,
  ThrottledError,
} from '@keyless/core';
import {
  boundedErrorText,
  certificateFailureCode,
  isNetworkFailure,
  untrustedCertificateError,
} from '@keyless/core/internal';

export interface RedisErrorContext {
  mode: PasswordSource['kind'];
  host: string;
  port: number;
  /** The ACL user (object id in Entra mode); ids are not secrets. */
  user: string | undefined;
  /** Secret mode: the Key Vault secret holding the password. */
  secretName?: string | undefined;
}

/** The server refused the credentials: a wrong or expired password/token, or an unknown user. */
export function isAuthenticationFailure(error: unknown): boolean {
  const message = messageOf(error);
  return /^(WRONGPASS|NOAUTH)\b/.test(message) || /invalid (username-)?password/i.test(message);
}

/**
 * Turns what ioredis reports into keyless errors where the cause is ours to explain (credentials,
 * reachability) and returns anything else unchanged: a WRONGTYPE is the application's business.
 */
export function mapRedisError(error: unknown, context: RedisErrorContext): unknown {
  if (isKeylessError(error)) return error;
  const where = `${context.host}:${context.port}`;
  if (certificateFailureCode(error) !== undefined) {
    // keyless's socket connector already reports these typed; this catches any other path.
    const certificateError = untrustedCertificateError(sanitizedCause(error), {
      service: 'Redis',
      target: where,
      caOption: 'tls.ca',
    });
    if (certificateError) return certificateError;
  }
  if (isAuthenticationFailure(error)) {
    const user = context.user === undefined ? 'the default user' : `user '${context.user}'`;
    return new AuthenticationFailedError(
      context.mode === 'entra-token'
        ? `Redis at ${where} refused the Entra token for ${user}`
        : `Redis at ${where} refused the password for ${user}${context.secretName ? ` (Key Vault secret '${context.secretName}', fetched afresh)` : ''}`,
      {
        cause: sanitizedCause(error),
        hint:
          context.mode === 'entra-token'
            ? `add a data access policy assignment for the identity's object id on the cache (az redis access-policy-assignment create --name <cache> --resource-group <group> --policy-assignment-name keyless-app --access-policy-name "Data Owner" --object-id ${context.user ?? '<object-id>'} --object-id-alias <name>), enable Microsoft Entra authentication on the cache, and check that the option \`user\` / KEYLESS_REDIS_ENTRA_USER is the object (principal) id of the identity the app runs as`
            : `check that the Key Vault secret holds the current password of the ACL user (or the access key for the default user), and that the option \`user\` / KEYLESS_REDIS_USER names that user`,
      },
    );
  }
  if (/^NOPERM\b/.test(messageOf(error))) {
    return new AuthorizationError(
      `Redis at ${where} refused a command for user '${context.user ?? 'default'}'`,
      {
        cause: sanitizedCause(error),
        hint: 'grant the ACL user (or the Entra data access policy) the commands and keys it needs, e.g. the "Data Contributor" access policy',
      },
    );
  }
  if (isNetworkFailure(error)) {
    return new ServiceUnavailableError(`Redis at ${where} could not be reached`, {
      cause: sanitizedCause(error),
      hint: `check that ${context.host} resolves and is reachable from here (DNS, firewall, private endpoint), that \`port\` / ${'KEYLESS_REDIS_PORT'} and \`tls\` match the cache (Azure: TLS on 6380); locally, start it with \`keyless-local up redis\``,
    });
  }
  return error;
}

/**
 * Commands that waited through `maxRetriesPerRequest` failed reconnects: the cache could not be
 * reached, so the caller gets what the first connect would have given.
 */
export function unreachableAfterRetries(
  gaveUp: Error,
  lastConnectionError: Error | undefined,
  context: RedisErrorContext,
): Error {
  const mapped = lastConnectionError === undefined ? undefined : mapRedisError(lastConnectionError, context);
  // An unreachable cache, or a password that could not be had meanwhile (a throttled vault).
  if (mapped instanceof ServiceUnavailableError || mapped instanceof ThrottledError) return mapped;
  return new ServiceUnavailableError(
    `Redis at ${context.host}:${context.port} could not be reached (${gaveUp.message})`,
    {
      cause: sanitizedCause(lastConnectionError ?? gaveUp),
      hint: `check that ${context.host} is reachable from here and that \`port\` and \`tls\` match the cache; raise \`redisOptions.maxRetriesPerRequest\` (or null) to wait longer`,
    },
  );
}

/**
 * ioredis attaches the failed command, arguments included, to its errors: for a handshake that is
 * `HELLO 3 AUTH <user> <password>`. The cause we keep is a copy without it.
 */
export function sanitizedCause(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  // Bounded as well as redacted: a reply can echo a whole value (Lua errors quote scripts and keys).
  const copy = new Error(boundedErrorText(error.message));
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(copy, { code });
  const command = (error as { command?: { name?: unknown } }).command;
  if (command && typeof command.name === 'string') Object.assign(copy, { command: { name: command.name } });
  const stack = error.stack ?? '';
  // The stack's first line is the unbounded message: rebuilt from the bounded one, then the frames.
  const framesAt = stack.indexOf('\n    at ');
  const frames = framesAt === -1 ? '' : boundedErrorText(stack.slice(framesAt));
  Object.defineProperty(copy, 'stack', {
    value: `${copy.name}: ${copy.message}${frames}`,
    enumerable: false,
  });
  return copy;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : '';
}
