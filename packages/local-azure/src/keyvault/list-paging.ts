import { badParameter } from './key-vault-errors.js';

// Key Vault's page size when `maxresults` is absent, and the most it accepts.
export const defaultPageSize = 25;

export interface PageRequest {
  pageSize: number;
  /** Sort key of the last item already returned. */
  after: string | undefined;
}

export function readPageRequest(query: ReadonlyMap<string, string>): PageRequest {
  const rawSize = query.get('maxresults');
  let pageSize = defaultPageSize;
  if (rawSize !== undefined && rawSize !== '') {
    pageSize = Number(rawSize);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > defaultPageSize) {
      throw badParameter(`Invalid value for maxresults: ${rawSize}. It must be an integer between 1 and 25.`);
    }
  }
  const skipToken = query.get('$skiptoken');
  return { pageSize, after: skipToken ? decodeSkipToken(skipToken) : undefined };
}

export interface Page<Item> {
  items: Item[];
  /** Present when more items follow. */
  nextSkipToken: string | undefined;
}

/** Cursor paging on a sort key, so items added or removed between pages neither repeat nor vanish. */
export function takePage<Item>(
  sortedItems: readonly Item[],
  sortKey: (item: Item) => string,
  request: PageRequest,
): Page<Item> {
  const { after } = request;
  const remaining = after === undefined ? sortedItems : sortedItems.filter((item) => sortKey(item) > after);
  const items = remaining.slice(0, request.pageSize);
  const last = items.at(-1);
  const hasMore = remaining.length > items.length && last !== undefined;
  return { items, nextSkipToken: hasMore ? encodeSkipToken(sortKey(last)) : undefined };
}

/**
 * An absolute link, as Azure's are (`…/secrets?api-version=…&$skiptoken=…&maxresults=…`): the SDK
 * requests it as given.
 */
export function nextLink(
  vaultBase: string,
  path: string,
  apiVersion: string,
  skipToken: string,
  pageSize: number,
): string {
  return `${vaultBase}${path}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${skipToken}&maxresults=${pageSize}`;
}

// Opaque to clients, like Azure's base64 `NextMarker` tokens.
function encodeSkipToken(after: string): string {
  return Buffer.from(JSON.stringify({ NextMarker: after }), 'utf8').toString('base64url');
}

function decodeSkipToken(token: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (decoded && typeof decoded === 'object' && 'NextMarker' in decoded) {
      const marker = (decoded as { NextMarker: unknown }).NextMarker;
      if (typeof marker === 'string') return marker;
    }
  } catch {
    // answered below
  }
  throw badParameter('The $skiptoken parameter is not valid.');
}
