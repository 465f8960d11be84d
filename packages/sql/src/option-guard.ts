import { ConfigurationError } from '@keyless/core';
import { assertNoWeakenedTls } from '@keyless/core/internal';

/** Used in every message about where a credential would go. */
export const sqlService = 'Azure SQL';

/** Every key `createSqlConnector` reads; anything else is refused (see `assertOnlyKnownOptions`). */
const knownOptions: ReadonlySet<string> = new Set([
  'server',
  'port',
  'database',
  'tokenProvider',
  'encrypt',
  'ca',
  'pool',
  'connectTimeoutMs',
  'requestTimeoutMs',
  'loginRetry',
]);

const passwordHint =
  'keyless needs no user name, password or secret: the managed identity logs in with a token from `tokenProvider`';

/**
 * Keys that people bring over from tedious (or mssql) configurations, and why keyless does not
 * read them. tedious reads its TLS settings (`trustServerCertificate`, `serverName`,
 * `cryptoCredentialsDetails`, a custom `connector`) from its nested `options` object, and the login
 * from `authentication`: any of them would decide which certificate or which login is accepted.
 */
const tediousKeys: Readonly<Record<string, string>> = {
  options:
    "tedious's nested `options` object is not read: keyless builds tedious's configuration itself; use the top-level options (port, database, encrypt, ca, connectTimeoutMs, requestTimeoutMs)",
  authentication: `keyless always logs in with tedious's \`token-credential\` authentication fed by the managed identity; pass \`tokenProvider\` to choose the identity (${passwordHint})`,
  cryptoCredentialsDetails:
    "tedious's TLS context is built by keyless; to trust a private CA, pass `ca` or start Node with NODE_EXTRA_CA_CERTS",
  serverName:
    'the certificate is always checked against `server`, the name connected to; connect with the name the certificate was issued for',
  connector:
    'keyless opens the connection itself, so that TLS is verified; a custom connector would decide where the token goes',
  debug: "tedious's debug output stays off: its packet and token output would print the access token",
  userName: passwordHint,
  user: passwordHint,
  password: passwordHint,
  clientSecret: passwordHint,
  token: passwordHint,
  connectionString: passwordHint,
};

/**
 * Refuses, before anything is built, every option that would weaken TLS verification at any depth
 * (`trustServerCertificate`, `options.trustServerCertificate`, `cryptoCredentialsDetails.rejectUnauthorized`,
 * …), whatever the types say: options often arrive from JSON or through `as any`.
 */
export function assertSafeSqlOptions(options: object): void {
  assertNoWeakenedTls(options, '', { service: sqlService });
  assertOnlyKnownOptions(options);
}

/**
 * Every key keyless does not read is refused, not just the known-dangerous ones. An ignored key is
 * a setting its author believes is in force: `options: { encrypt: false }` or
 * `cryptoCredentialsDetails: { ca }` from a tedious configuration, `authentication` with a
 * password, or a misspelt `databse`. Silently dropping them hides the mistake in either direction;
 * refusing names it. A key whose value is `undefined` sets nothing, so it is let through (objects
 * built as `{ ca: process.env.X }` carry such keys). Values are never printed: one may be a password.
 */
function assertOnlyKnownOptions(options: object): void {
  for (const [key, value] of Object.entries(options)) {
    if (knownOptions.has(key) || value === undefined) continue;
    throw new ConfigurationError(`Unknown option \`${key}\` for ${sqlService}: keyless does not read it`, {
      hint:
        tediousKeys[key] ??
        `remove it (a misspelling?); the options are ${[...knownOptions].join(', ')} — an option keyless ignored would be a setting you believe is in force`,
    });
  }
}
