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

export const imdsTokenPath = '/metadata/identity/oauth2/token';

// `mi_res_id` is what older IMDS documentation named `msi_res_id`; IMDS still takes both.
const selectorParameters = ['client_id', 'object_id', 'msi_res_id', 'mi_res_id'] as const;
const selectorKinds = {
  client_id: 'client-id',
  object_id: 'object-id',
  msi_res_id: 'resource-id',
  mi_res_id: 'resource-id',
} as const;
const checkedParameters = ['api-version', 'resource', ...selectorParameters];

// Microsoft documents this text for every malformed request.
const malformedRequest =
  'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.';

/** Azure Instance Metadata Service identity endpoint (also what AKS pod identity serves). */
export function createImdsProtocol(): TokenProtocol {
  return {
    name: 'imds',
    evaluate(input: TokenRequestInput, registry: IdentityRegistry): TokenRequestOutcome {
      if (input.method !== 'GET') {
        return {
          kind: 'reject',
          status: 405,
          body: oauthError('invalid_request', malformedRequest),
          headers: { Allow: 'GET' },
        };
      }
      // Checked before anything else: @azure/identity's availability probe relies on this exact 400.
      if (firstHeaderValue(input.headers, 'metadata') !== 'true') {
        return reject('invalid_request', 'Required metadata header not specified');
      }
      // "Must not contain an X-Forwarded-For header. Any request that doesn't meet both of these
      // requirements are rejected by the service." — and a rejected request is a 400
      // (https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service, "Security and
      // authentication", "Errors and debugging"). The description is ours: the real text is not published.
      if (input.headers['x-forwarded-for'] !== undefined) {
        return reject(
          'invalid_request',
          'Requests with an X-Forwarded-For header are rejected: IMDS must be called directly, not through a proxy.',
        );
      }
      if (repeatedParameter(input.query, checkedParameters))
        return reject('invalid_request', malformedRequest);
      if (!input.query.get('api-version')) {
        // IMDS's own shape for this one: the message is in `error` and there is no description.
        return {
          kind: 'reject',
          status: 400,
          body: {
            error:
              'Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds',
            'newest-versions': ['2018-02-01'],
          },
        };
      }
      const resource = input.query.get('resource');
      if (!resource) return reject('invalid_request', 'Required audience parameter not specified');
      const given = selectorParameters.filter((name) => input.query.get(name));
      if (given.length > 1) {
        return reject(
          'invalid_request',
          `Only one of client_id, object_id and msi_res_id may be specified; got ${given.join(', ')}`,
        );
      }
      const lookup = registry.lookup(selectorFromQuery(input.query, given[0], selectorKinds), {
        defaultToSingleUserAssigned: true,
      });
      if (!lookup.found) {
        return lookup.reason === 'several-user-assigned'
          ? reject(
              'invalid_request',
              'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request',
            )
          : reject('invalid_request', 'Identity not found');
      }
      return { kind: 'issue', identity: lookup.identity, resource };
    },
    successBody(minted: MintedToken, resource: string, identity: ManagedIdentityDefinition): object {
      const lifetime = String(minted.expiresOnSeconds - minted.issuedAtSeconds);
      // IMDS sends every number as a string.
      return {
        access_token: minted.token,
        refresh_token: '',
        client_id: identity.clientId,
        expires_in: lifetime,
        expires_on: String(minted.expiresOnSeconds),
        ext_expires_in: lifetime,
        not_before: String(minted.notBeforeSeconds),
        resource,
        token_type: 'Bearer',
      };
    },
    faultBody(status: number): object {
      const [error, description] = faultErrors[status] ?? [
        status >= 500 ? 'server_error' : 'invalid_request',
        `The managed identity endpoint answered with status ${status}.`,
      ];
      return oauthError(error, description);
    },
    rejectionBody(_status: number, message: string): object {
      return oauthError('invalid_request', message);
    },
  };
}

const faultErrors: Record<number, [string, string]> = {
  400: ['invalid_request', malformedRequest],
  401: ['unauthorized_client', 'The client is not authorized to request an access token using this method.'],
  403: ['access_denied', 'The resource owner or authorization server denied the request.'],
  404: ['not_found', 'IMDS endpoint is updating.'],
  410: ['gone', 'IMDS is going through updates; it will be available within 70 seconds.'],
  429: ['too_many_requests', 'IMDS throttle limit reached.'],
  500: ['unknown', 'Failed to retrieve token from the Active directory.'],
  503: ['temporarily_unavailable', 'The managed identity endpoint is temporarily unavailable.'],
};

function oauthError(error: string, description: string): object {
  return { error, error_description: description };
}

function reject(error: string, description: string): TokenRequestOutcome {
  return { kind: 'reject', status: 400, body: oauthError(error, description) };
}
