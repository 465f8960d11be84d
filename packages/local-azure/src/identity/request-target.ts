import { splitRequestTarget } from '../http/split-request-target.js';
export interface RequestTarget {
  /** Lower-cased, repeated slashes collapsed, no trailing slash: what routes compare against. */
  normalizedPath: string;
  query: URLSearchParams;
}

/**
 * Parses the raw request target by hand: `new URL('//metadata/…', base)` would read `metadata` as a
 * host, and clients do send a doubled slash when the configured host ends with one.
 */
export function parseRequestTarget(rawTarget: string | undefined): RequestTarget {
  const { rawPath, rawQuery } = splitRequestTarget(rawTarget);
  let normalizedPath = `/${rawPath}`.replace(/\/{2,}/g, '/').toLowerCase();
  if (normalizedPath.length > 1 && normalizedPath.endsWith('/')) normalizedPath = normalizedPath.slice(0, -1);
  // URLSearchParams never throws: malformed percent-encoding stays as it was sent.
  return { normalizedPath, query: new URLSearchParams(rawQuery) };
}
