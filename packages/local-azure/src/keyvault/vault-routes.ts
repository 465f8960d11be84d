import { splitRequestTarget } from '../http/split-request-target.js';
import type { KeyVaultOperation } from './key-vault-types.js';

export interface VaultRequestTarget {
  /** Decoded path segments, original case, empty ones dropped (`//secrets` and `secrets/x/` are sent). */
  segments: string[];
  /** Keys and values percent-decoded: the SDK sends `api%2Dversion`. Keys are lower-cased. */
  query: Map<string, string>;
}

export type RouteMatch =
  | { kind: 'operation'; operation: KeyVaultOperation; secretName?: string; version?: string }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'unknown' };

/**
 * Parses the target by hand: `new URL()` would read `//secrets` as a host, and a malformed escape
 * must become a 400 for that request rather than an exception.
 */
export function parseVaultRequestTarget(rawTarget: string | undefined): VaultRequestTarget {
  const { rawPath, rawQuery } = splitRequestTarget(rawTarget);
  const segments = rawPath
    .split('/')
    .filter((segment) => segment !== '')
    .map(decodeSegment);
  const query = new Map<string, string>();
  // URLSearchParams decodes keys as well as values and never throws on bad escapes.
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const normalizedKey = key.toLowerCase();
    if (!query.has(normalizedKey)) query.set(normalizedKey, value);
  }
  return { segments, query };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Kept as sent: name validation then answers 400 for it.
    return segment;
  }
}

type MethodTable = Partial<Record<string, KeyVaultOperation>>;

export function matchRoute(method: string, segments: readonly string[]): RouteMatch {
  const [collection, name, third, ...rest] = segments;
  if (rest.length > 0 || collection === undefined) return { kind: 'unknown' };
  const lowerCollection = collection.toLowerCase();
  const lowerThird = third?.toLowerCase();
  if (lowerCollection === 'secrets') {
    if (name === undefined) return byMethod(method, { GET: 'getSecrets' });
    if (third === undefined && name.toLowerCase() === 'restore' && method === 'POST') {
      return { kind: 'operation', operation: 'restoreSecret' };
    }
    if (third === undefined) {
      return byMethod(
        method,
        { PUT: 'setSecret', GET: 'getSecret', PATCH: 'updateSecret', DELETE: 'deleteSecret' },
        name,
      );
    }
    // Version ids are 32 hex digits, so these words never collide with a version.
    if (lowerThird === 'versions') return byMethod(method, { GET: 'getSecretVersions' }, name);
    if (lowerThird === 'backup') return byMethod(method, { POST: 'backupSecret' }, name);
    return byMethod(method, { GET: 'getSecret', PATCH: 'updateSecret' }, name, third);
  }
  if (lowerCollection === 'deletedsecrets') {
    if (name === undefined) return byMethod(method, { GET: 'getDeletedSecrets' });
    if (third === undefined) {
      return byMethod(method, { GET: 'getDeletedSecret', DELETE: 'purgeDeletedSecret' }, name);
    }
    if (lowerThird === 'recover') return byMethod(method, { POST: 'recoverDeletedSecret' }, name);
  }
  return { kind: 'unknown' };
}

function byMethod(method: string, table: MethodTable, secretName?: string, version?: string): RouteMatch {
  const operation = table[method];
  if (!operation) return { kind: 'method-not-allowed', allowed: Object.keys(table) };
  return {
    kind: 'operation',
    operation,
    ...(secretName !== undefined ? { secretName } : {}),
    ...(version !== undefined ? { version } : {}),
  };
}
