import type { IncomingHttpHeaders } from 'node:http';
import type { IdentityRegistry, IdentitySelector } from './identity-registry.js';
import type { IdentityProtocol, ManagedIdentityDefinition } from './identity-types.js';
import type { MintedToken } from './token-signer.js';

export interface TokenRequestInput {
  method: string;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
}

export type TokenRequestOutcome =
  | { kind: 'issue'; identity: ManagedIdentityDefinition; resource: string }
  | { kind: 'reject'; status: number; body: object; headers?: Record<string, string> };

/** One managed-identity wire protocol: what it checks, and how its answers look. */
export interface TokenProtocol {
  readonly name: IdentityProtocol;
  evaluate(input: TokenRequestInput, registry: IdentityRegistry): TokenRequestOutcome;
  successBody(minted: MintedToken, resource: string, identity: ManagedIdentityDefinition): object;
  /** The body an injected `failWith`/`throttle` status gets, shaped like the real service's. */
  faultBody(status: number): object;
  /** A refusal decided outside `evaluate` (e.g. a foreign Host), in the protocol's error shape. */
  rejectionBody(status: number, message: string): object;
}

/** The first of `names` that the query repeats: real endpoints refuse a parameter given twice. */
export function repeatedParameter(query: URLSearchParams, names: readonly string[]): string | undefined {
  return names.find((name) => query.getAll(name).length > 1);
}

export function firstHeaderValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

type SelectorKind = Exclude<IdentitySelector['kind'], 'system'>;

/**
 * The identity a query names, by the protocol's own parameter names (each protocol spells the
 * selectors differently); no selector parameter means the system-assigned identity.
 */
export function selectorFromQuery(
  query: URLSearchParams,
  parameter: string | undefined,
  kinds: Readonly<Record<string, SelectorKind>>,
): IdentitySelector {
  const kind = parameter === undefined ? undefined : kinds[parameter];
  if (parameter === undefined || kind === undefined) return { kind: 'system' };
  return { kind, value: query.get(parameter) ?? '' };
}
