import { randomUUID } from 'node:crypto';
import type { IdentityRegistry } from './identity-registry.js';
import type { ManagedIdentityDefinition } from './identity-types.js';
import {
  firstHeaderValue,
  repeatedParameter,
  selectorFromQuery,
  type TokenProtocol,
  type TokenRequestInput,
  type TokenRequestOutcome,
} from './token-protocol.js';
import type { MintedToken } from './token-signer.js';

export const appServiceTokenPath = '/msi/token';
export const appServiceApiVersion = '2019-08-01';

const selectorParameters = ['client_id', 'principal_id', 'object_id', 'mi_res_id'] as const;
const selectorKinds = {
  client_id: 'client-id',
  principal_id: 'object-id',
  object_id: 'object-id',
  mi_res_id: 'resource-id',
} as const;
const checkedParameters = ['api-version', 'resource', ...selectorParameters];

/**
 * App Service / Functions / Container Apps token service, api-version 2019-08-01.
 * Its errors are `{ statusCode, message, correlationId }`, not OAuth's `{ error, error_description }`:
 * MSAL reads `message` into the error description and leaves `errorCode` empty, as it does in Azure.
 */
export function createAppServiceProtocol(identityHeader: string): TokenProtocol {
  return {
    name: 'app-service',
    evaluate(input: TokenRequestInput, registry: IdentityRegistry): TokenRequestOutcome {
      if (input.method !== 'GET') {
        return reject(405, `The HTTP method ${input.method} is not supported; use GET.`, { Allow: 'GET' });
      }
      if (firstHeaderValue(input.headers, 'x-identity-header') !== identityHeader) {
        return reject(401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
      }
      const repeated = repeatedParameter(input.query, checkedParameters);
      if (repeated) return reject(400, `The query parameter '${repeated}' was given more than once.`);
      const apiVersion = input.query.get('api-version');
      if (!apiVersion) {
        return reject(400, `The api-version query parameter is required; use ${appServiceApiVersion}.`);
      }
      if (apiVersion !== appServiceApiVersion) {
        return reject(
          400,
          `api-version '${apiVersion}' is not supported by this endpoint; use ${appServiceApiVersion}.`,
        );
      }
      const resource = input.query.get('resource');
      if (!resource) return reject(400, 'The resource query parameter is required.');
      const given = selectorParameters.filter((name) => input.query.get(name));
      if (given.length > 1) {
        return reject(
          400,
          `Only one of client_id, principal_id, object_id and mi_res_id may be given; got ${given.join(', ')}.`,
        );
      }
      const lookup = registry.lookup(selectorFromQuery(input.query, given[0], selectorKinds), {
        defaultToSingleUserAssigned: false,
      });
      // The one message App Service gives for an unknown user-assigned identity and for a missing system one.
      if (!lookup.found) return reject(400, 'Unable to load the proper Managed Identity.');
      return { kind: 'issue', identity: lookup.identity, resource };
    },
    successBody(minted: MintedToken, resource: string, identity: ManagedIdentityDefinition): object {
      return {
        access_token: minted.token,
        expires_on: String(minted.expiresOnSeconds),
        resource,
        token_type: 'Bearer',
        client_id: identity.clientId,
        not_before: String(minted.notBeforeSeconds),
      };
    },
    faultBody(status: number): object {
      return errorBody(status, faultMessages[status] ?? `The token service answered with status ${status}.`);
    },
    rejectionBody(status: number, message: string): object {
      return errorBody(status, message);
    },
  };
}

const faultMessages: Record<number, string> = {
  400: 'Bad request.',
  403: 'Forbidden.',
  404: 'The token service is not available yet.',
  410: 'The token service is being updated.',
  429: 'Too many requests; retry after the time in Retry-After.',
  500: 'An unexpected error occurred while fetching the AAD token.',
  502: 'Bad gateway.',
  503: 'The token service is temporarily unavailable.',
  504: 'Timed out fetching the AAD token.',
};

function errorBody(status: number, message: string): object {
  return { statusCode: status, message, correlationId: randomUUID() };
}

function reject(status: number, message: string, headers?: Record<string, string>): TokenRequestOutcome {
  return headers
    ? { kind: 'reject', status, body: errorBody(status, message), headers }
    : { kind: 'reject', status, body: errorBody(status, message) };
}
