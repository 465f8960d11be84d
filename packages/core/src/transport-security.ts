import { ConfigurationError, KeylessError } from './errors.js';
import { isLoopbackHost } from './service-url.js';
import type { Environment } from './settings.js';

/**
 * The rule every connector enforces through this one module: a token or a secret leaves the
 * process only over TLS that is verified against a trusted CA *and* the server's name, or to this
 * machine (loopback). Whatever would break it — an option at any depth of the options object, a
 * custom transport, the environment — is refused with a ConfigurationError that names the option
 * or variable, before anything is sent.
 */

/** Where a connector is about to send a token, a password or a secret. */
export interface SecretDestination {
  /** e.g. `Redis`, `Key Vault`: used in messages. */
  service: string;
  /** The host name or address the connection goes to. */
  host: string;
  /** Whether the connection is TLS (verified by Node, with the host as the name to check). */
  tls: boolean;
  /** How the user sets the host, for the message: e.g. `option \`host\` / KEYLESS_REDIS_HOST`. */
  hostSetting?: string;
  /** How the user turns TLS on, for the message: e.g. `leave \`tls\` unset`. */
  tlsHint?: string;
}

/** The variable Node reads at every TLS connection; `0` switches verification off process-wide. */
export const tlsVerificationVariable = 'NODE_TLS_REJECT_UNAUTHORIZED';

/**
 * Refuses to send a secret in clear to another machine, or anywhere but loopback while the process
 * runs with TLS verification switched off. Call it where the connection is made, not only at
 * construction: Node reads NODE_TLS_REJECT_UNAUTHORIZED at every TLS connection.
 */
export function assertSecretDestination(
  destination: SecretDestination,
  environment: Environment = process.env,
): void {
  if (isLoopbackHost(destination.host)) return;
  if (!destination.tls) {
    throw new ConfigurationError(
      `${destination.service} at ${destination.host} would receive a credential without TLS`,
      {
        hint: `a password or token goes in clear only to this machine (127.0.0.1, ::1, localhost); ${
          destination.tlsHint ?? 'turn TLS on'
        }`,
      },
    );
  }
  if (environment[tlsVerificationVariable] === '0') {
    throw new ConfigurationError(
      `${destination.service} at ${destination.host}: refusing to send a credential while ${tlsVerificationVariable}=0 switches TLS verification off for this process`,
      {
        hint: `unset ${tlsVerificationVariable}; to trust a private CA, start Node with NODE_EXTRA_CA_CERTS=<ca.pem> or pass the connector's \`ca\` option instead`,
      },
    );
  }
}

/** A service reached by URL (the Azure SDK clients): what `assertUrlDestination` needs. */
export interface UrlDestination {
  service: string;
  url: string;
  /** How the user sets the URL, e.g. 'option `vaultUrl` / KEYLESS_KEYVAULT_URL'. */
  urlSetting: string;
  /** e.g. 'use the vault URI, https://<vault-name>.vault.azure.net'. */
  tlsHint: string;
}

/** `assertSecretDestination` for a URL: TLS means https. */
export function assertUrlDestination(
  destination: UrlDestination,
  environment: Environment = process.env,
): void {
  const { hostname, protocol } = new URL(destination.url);
  assertSecretDestination(
    {
      service: destination.service,
      host: hostname,
      tls: protocol === 'https:',
      hostSetting: destination.urlSetting,
      tlsHint: destination.tlsHint,
    },
    environment,
  );
}

/**
 * TLS options that weaken verification, wherever they appear in an options object. `ca` is not
 * among them: trusting a CA keeps the name check, and is how a private CA is meant to be used.
 */
const weakeningKeys: Readonly<Record<string, (value: unknown) => boolean>> = {
  // Anything but `true` is a request not to verify.
  rejectUnauthorized: (value) => value !== true && value !== undefined,
  // A custom check can accept any name (`() => undefined`).
  checkServerIdentity: (value) => value !== undefined,
  // Verifies the certificate against a different name than the host connected to.
  servername: (value) => value !== undefined,
  // tedious and mssql: accept any certificate.
  trustServerCertificate: (value) => value !== undefined && value !== false,
  // Pre-shared keys replace certificates altogether.
  pskCallback: (value) => value !== undefined,
  // An opaque context may carry any trust store or verification setting; `ca` says the same openly.
  secureContext: (value) => value !== undefined,
  // pg: `sslmode` in its config (`no-verify`, `disable`, `prefer`, `allow`) is read besides `ssl`.
  sslmode: (value) => value !== undefined && value !== 'verify-full',
};

/** Keys whose value is a whole transport of the user's making: we cannot see what it verifies. */
const customTransportKeys: Readonly<Record<string, string>> = {
  httpClient:
    'the SDK would send the bearer token through a transport keyless cannot check; to go through a proxy, use `proxyOptions`',
  Connector: 'a custom ioredis connector would receive the password; keyless opens the connection itself',
  agent: 'a custom agent decides how TLS is verified; to go through a proxy, use `proxyOptions`',
  httpsAgent: 'a custom agent decides how TLS is verified; to go through a proxy, use `proxyOptions`',
};

/** How deep the options are searched; option objects are shallow, and a cycle must not hang us. */
const maxDepth = 8;

/**
 * Refuses every TLS-weakening setting in `options`, at any depth (`redisOptions.tls.servername`,
 * `clientOptions.tlsOptions.rejectUnauthorized`, …), whether or not the types allow it: options
 * often arrive from JSON or `as any`. The error names the option's full path. Class instances
 * (a TokenProvider, a Buffer, an SDK client) are not searched, only plain objects and arrays.
 */
export function assertNoWeakenedTls(options: unknown, path: string, context: { service: string }): void {
  const seen = new Set<object>();
  const visit = (value: unknown, at: string, depth: number) => {
    if (typeof value !== 'object' || value === null || depth > maxDepth || seen.has(value)) return;
    if (!isPlainContainer(value)) return;
    seen.add(value);
    for (const [key, child] of Object.entries(value)) {
      const where = Array.isArray(value) ? `${at}[${key}]` : at === '' ? key : `${at}.${key}`;
      const weakens = weakeningKeys[key];
      if (weakens?.(child)) throw weakenedTlsError(context.service, where, key);
      const custom = customTransportKeys[key];
      if (custom !== undefined && child !== undefined && child !== null) {
        throw new ConfigurationError(`Invalid option \`${where}\` for ${context.service}`, {
          hint: custom,
        });
      }
      visit(child, where, depth + 1);
    }
  };
  visit(options, path, 0);
}

function isPlainContainer(value: object): boolean {
  if (Array.isArray(value)) return true;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function weakenedTlsError(service: string, where: string, key: string): ConfigurationError {
  return new ConfigurationError(
    `Invalid option \`${where}\` for ${service}: keyless never weakens TLS verification (\`${key}\`)`,
    {
      hint: "trust the server's CA instead: start Node with NODE_EXTRA_CA_CERTS=<ca.pem> (`keyless-local up` prints it), or pass the connector's `ca` option; connect with the host name the certificate was issued for",
    },
  );
}

/** OpenSSL's verification failures, as Node reports them in `error.code`. */
const certificateFailureCodes: ReadonlySet<string> = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** The certificate failure code in `error` or its causes (and inside AggregateErrors), if any. */
export function certificateFailureCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const search = (current: unknown, depth: number): string | undefined => {
    if (!(current instanceof Error) || depth > 6 || seen.has(current)) return undefined;
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && certificateFailureCodes.has(code)) return code;
    if (current instanceof AggregateError) {
      for (const inner of current.errors) {
        const found = search(inner, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return search(current.cause, depth + 1);
  };
  return search(error, 0);
}

/** What `untrustedCertificateError` needs to say where and how to fix it. */
export interface CertificateFailureContext {
  service: string;
  /** `host:port` or the URL the connection went to. */
  target: string;
  /** The connector's option that adds a CA, e.g. `ca`, `ssl.ca`, `tls.ca`. */
  caOption: string;
}

/**
 * The one error every connector gives for a server certificate Node did not accept: same class,
 * same code, a hint that names NODE_EXTRA_CA_CERTS and the connector's `ca` option. Not retryable:
 * the same certificate will be refused again.
 */
export function untrustedCertificateError(
  error: unknown,
  context: CertificateFailureContext,
): ConfigurationError | undefined {
  const code = certificateFailureCode(error);
  if (code === undefined) return undefined;
  const nameMismatch = code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH';
  return new ConfigurationError(
    `${context.service} at ${context.target}: the server's TLS certificate is not trusted (${code})`,
    {
      cause: error,
      hint: nameMismatch
        ? `the certificate was not issued for this host name: connect with the name it was issued for (for the local stack, localhost or 127.0.0.1); verification is never turned off`
        : `trust its CA: start Node with NODE_EXTRA_CA_CERTS=<ca.pem> (for the local stack, the bundle \`keyless-local up\` prints) or pass the option \`${context.caOption}\`; verification is never turned off`,
    },
  );
}

/** Whether `error` is the typed certificate error above (for connectors deciding not to retry). */
export function isUntrustedCertificateError(error: unknown): boolean {
  return (
    error instanceof KeylessError &&
    error.code === 'configuration' &&
    certificateFailureCode(error.cause) !== undefined
  );
}
