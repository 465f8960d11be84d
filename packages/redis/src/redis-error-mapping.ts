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
import { accessPolicyAssignmentCommand, azureRedisProductOf, perProduct } from './azure-redis-product.js';

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
            ? entraLoginHint(context)
            : `check that the Key Vault secret holds the current password of the ACL user (or the access key for the default user), and that the option \`user\` / KEYLESS_REDIS_USER names that user`,
      },
    );
  }
  if (isPermissionDenied(error)) return permissionDenied(error, context);
  if (isNetworkFailure(error)) {
    return new ServiceUnavailableError(`Redis at ${where} could not be reached`, {
      cause: sanitizedCause(error),
      hint: `check that ${context.host} resolves and is reachable from here (DNS, firewall, private endpoint), that \`port\` / ${'KEYLESS_REDIS_PORT'} and \`tls\` match the cache (Azure: TLS on 6380); locally, start it with \`keyless-local up redis\``,
    });
  }
  return error;
}

/** Redis's answer to a command, key or channel the user's ACL rules (the access policy) leave out. */
export function isPermissionDenied(error: unknown): boolean {
  return /^NOPERM\b/.test(messageOf(error));
}

/**
 * What the application's own commands reject with: a NOPERM becomes AuthorizationError naming the
 * access policy and how to change it; any other reply is the application's business, unchanged.
 */
export function mapCommandError(error: unknown, context: RedisErrorContext): unknown {
  return isPermissionDenied(error) && !isKeylessError(error) ? permissionDenied(error, context) : error;
}

/**
 * The command a NOPERM names: Redis 7 says "User <user> has no permissions to run the 'keys'
 * command", Redis 6 "this user has no permissions to run the 'keys' command or its subcommand";
 * else the name ioredis attached to the error. Undefined for a key or channel refusal.
 */
function deniedCommandOf(error: unknown): string | undefined {
  const message = messageOf(error);
  if (/\b(key|keys|channel|channels)\b/i.test(message) && !/\bto run\b/.test(message)) return undefined;
  const named = /to run the '([^']{1,64})' command/.exec(message)?.[1];
  const attached = (error as { command?: { name?: unknown } } | undefined)?.command?.name;
  const command = named ?? (typeof attached === 'string' ? attached : undefined);
  return command !== undefined && /^[a-z0-9_.|-]{1,64}$/i.test(command) ? command.toUpperCase() : undefined;
}

function permissionDenied(error: unknown, context: RedisErrorContext): AuthorizationError {
  const where = `${context.host}:${context.port}`;
  const user = context.user === undefined ? 'the default user' : `user '${context.user}'`;
  const command = deniedCommandOf(error);
  const message = messageOf(error);
  const refused =
    command !== undefined
      ? `the command ${command}`
      : /channel/i.test(message)
        ? 'access to a pub/sub channel'
        : /key/i.test(message)
          ? 'access to a key'
          : 'a command';
  const it = command ?? 'it';
  const product = azureRedisProductOf(context.host, context.port);
  const target = { host: context.host, objectId: context.user };
  const hint =
    context.mode === 'entra-token'
      ? perProduct(product, (each) =>
          each === 'azure-cache-for-redis'
            ? `the identity's data access policy does not allow ${it}: "Data Contributor" allows every command but the @dangerous ones (INFO, KEYS, CLIENT, CONFIG, FLUSHALL, …) and "Data Reader" only @read and @connection commands (${accessPoliciesPage}). Do without ${it}, or assign the identity "Data Owner" or a custom access policy that includes it: ${accessPolicyAssignmentCommand(each, target, 'Data Owner')}. No policy grants a command Azure disables for every user (${cacheDisabledCommandsPage})`
            : `Azure Managed Redis has one access policy, "default", which allows every command the service supports; check that the identity has it (${accessPolicyAssignmentCommand(each, target)}) and that ${it} is not one Azure Managed Redis blocks for every user (${managedBlockedCommandsPage})`,
        )
      : `the user may not run ${it}. With Azure's access keys (the default user) every command the service supports is allowed, so ${it} is one Azure disables for every user (${cacheDisabledCommandsPage}, ${managedBlockedCommandsPage}); for an ACL user of your own Redis, grant it (ACL SETUSER <user> +<command>)`;
  // "NOPERM" stays in the message: ioredis's ready check, and code written for plain ioredis, look for it.
  return new AuthorizationError(
    `Redis at ${where} refused ${refused} for ${user} (NOPERM): not permitted by its access policy`,
    { cause: sanitizedCause(error), hint },
  );
}

/** WRONGPASS/NOAUTH in Entra mode: no access policy assignment, Entra off, or the wrong user. */
function entraLoginHint(context: RedisErrorContext): string {
  const product = azureRedisProductOf(context.host, context.port);
  const target = { host: context.host, objectId: context.user };
  const assignment = perProduct(product, (each) =>
    each === 'azure-cache-for-redis'
      ? `enable Microsoft Entra authentication on the cache and give the identity a data access policy: ${accessPolicyAssignmentCommand(each, target, 'Data Contributor')}`
      : `give the identity the cache's access policy (Microsoft Entra authentication is on by default): ${accessPolicyAssignmentCommand(each, target)}`,
  );
  return `${assignment}; and check that the option \`user\` / KEYLESS_REDIS_ENTRA_USER is the object (principal) id of the identity the app runs as, not its client id`;
}

const accessPoliciesPage =
  'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure-role-based-access-control';
const cacheDisabledCommandsPage =
  'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure#redis-commands-not-supported-in-azure-cache-for-redis';
const managedBlockedCommandsPage =
  'https://learn.microsoft.com/azure/redis/best-practices-client-libraries#blocked-commands';

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
