import { randomUUID } from 'node:crypto';

/** An Entra token-endpoint refusal: the HTTP status and the AADSTS code and text. */
export interface EntraRefusal {
  status: number;
  error: string;
  code: number;
  message: string;
}

/**
 * Entra's error body, as documented with its sample response
 * (https://learn.microsoft.com/entra/identity-platform/reference-error-codes#handling-error-codes-in-your-application):
 * `error`, an `error_description` that starts with `AADSTS<code>: ` and ends with the trace id,
 * correlation id and timestamp, `error_codes`, `timestamp`, `trace_id`, `correlation_id` and `error_uri`.
 */
export function entraErrorBody(refusal: EntraRefusal, authorityHost: string, now: Date): object {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  // "2016-01-09 02:02:12Z", as in the sample.
  const timestamp = `${now.toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return {
    error: refusal.error,
    error_description: `AADSTS${refusal.code}: ${refusal.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [refusal.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${authorityHost}/error?code=${refusal.code}`,
  };
}

/**
 * The refusals the emulator gives, with Entra's codes, `error` values and statuses
 * (https://learn.microsoft.com/entra/identity-platform/reference-error-codes). `invalid_client` is a
 * 401, the other OAuth errors a 400, as Entra answers them (RFC 6749 §5.2).
 */
export const refusals = {
  postOnly: (): EntraRefusal => ({
    status: 405,
    error: 'invalid_request',
    code: 900561,
    message: 'The endpoint only accepts POST requests.',
  }),
  missingParameter: (name: string): EntraRefusal => ({
    status: 400,
    error: 'invalid_request',
    code: 900144,
    message: `The request body must contain the following parameter: '${name}'.`,
  }),
  tenantNotFound: (tenant: string): EntraRefusal => ({
    status: 400,
    error: 'invalid_request',
    code: 90002,
    message: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  }),
  unsupportedGrantType: (): EntraRefusal => ({
    status: 400,
    error: 'unsupported_grant_type',
    code: 70003,
    message:
      'The app requested an unsupported grant type. The local Entra endpoint issues tokens for client_credentials with a client_assertion (workload identity) only.',
  }),
  unknownClient: (clientId: string, tenant: string): EntraRefusal => ({
    status: 400,
    error: 'unauthorized_client',
    code: 700016,
    message: `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  }),
  invalidScope: (scope: string): EntraRefusal => ({
    status: 400,
    error: 'invalid_scope',
    code: 1002012,
    message: `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  }),
  missingAssertion: (): EntraRefusal => ({
    status: 401,
    error: 'invalid_client',
    code: 7000218,
    message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  wrongAssertionType: (): EntraRefusal => ({
    status: 401,
    error: 'invalid_client',
    code: 50027,
    message:
      "Invalid client_assertion_type: expected 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
  }),
  malformedAssertion: (): EntraRefusal => ({
    status: 400,
    error: 'invalid_request',
    code: 50027,
    message: 'JWT token is invalid or malformed.',
  }),
  unknownIssuer: (issuer: string): EntraRefusal => ({
    status: 400,
    error: 'invalid_request',
    code: 700211,
    message: `No matching federated identity record found for presented assertion issuer '${issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
  }),
  badSignature: (): EntraRefusal => ({
    status: 401,
    error: 'invalid_client',
    code: 700027,
    message: 'Client assertion failed signature validation.',
  }),
  outsideValidTime: (nowSeconds: number, notBefore: unknown, expiry: unknown): EntraRefusal => ({
    status: 401,
    error: 'invalid_client',
    code: 700024,
    message: `Client assertion is not within its valid time range. Current time: ${isoSeconds(nowSeconds)}, assertion valid from ${isoSeconds(notBefore)}, expiry time of assertion ${isoSeconds(expiry)}.`,
  }),
  noMatchingFederatedCredential: (issuer: string, subject: unknown, audience: unknown): EntraRefusal => ({
    status: 400,
    error: 'invalid_request',
    code: 70021,
    message: `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${String(subject)}'. Assertion Audience: '${Array.isArray(audience) ? audience.join(',') : String(audience)}'.`,
  }),
};

/** Bodies of injected faults (`faults.failWith`, `throttle`), in Entra's shape. */
export function faultRefusal(status: number): EntraRefusal {
  if (status === 429) {
    return {
      status,
      error: 'temporarily_unavailable',
      code: 50196,
      message: 'The server throttled the request. Retry after the time given in Retry-After.',
    };
  }
  if (status >= 500) {
    return {
      status,
      error: 'temporarily_unavailable',
      code: 90033,
      message: 'A transient error has occurred. Please try again.',
    };
  }
  if (status === 401)
    return {
      status,
      error: 'invalid_client',
      code: 7000215,
      message: 'Invalid client credentials provided.',
    };
  if (status === 403)
    return {
      status,
      error: 'unauthorized_client',
      code: 50105,
      message: 'The signed in identity is not assigned to a role for the application.',
    };
  return {
    status,
    error: 'invalid_request',
    code: 90014,
    message: `The local Entra endpoint answered with status ${status}.`,
  };
}

function isoSeconds(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds)
    ? new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    : 'unknown';
}
