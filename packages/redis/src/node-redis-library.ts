import { createRequire } from 'node:module';
import type { ConfigurationError } from '@keyless/core';
import { missingLibraryError } from '@keyless/core/internal';
import type * as NodeRedis from 'redis';

/** The part of node-redis (the npm package `redis`, v5) keyless uses. */
export type NodeRedisLibrary = Pick<typeof NodeRedis, 'createClient' | 'createCluster'>;

const libraryName = 'redis';
const requireFromHere = createRequire(import.meta.url);
let loaded: NodeRedisLibrary | undefined;

/**
 * node-redis, loaded when the first node-redis client is made — never at import, so that an
 * application using ioredis never loads it (both are optional peers). Through require(): the
 * factory stays synchronous and lazy like every keyless factory, and `redis` ships CommonJS.
 */
export function nodeRedisLibrary(neededBy = 'createNodeRedisConnector()'): NodeRedisLibrary {
  if (loaded === undefined) {
    try {
      loaded = requireFromHere(libraryName) as NodeRedisLibrary;
    } catch (error) {
      throw missingNodeRedisError(error, neededBy);
    }
  }
  return loaded;
}

/** The optional peer cannot be loaded: say what to install. */
export function missingNodeRedisError(
  error: unknown,
  neededBy = 'createNodeRedisConnector()',
): ConfigurationError {
  return missingLibraryError(error, {
    library: libraryName,
    neededBy,
    hint: `install it next to @keyless/redis (npm install ${libraryName}@5); it is an optional peer dependency, needed only for createNodeRedisConnector() and createNodeRedisClusterConnector() — ioredis users call createRedisConnector() or createRedisClusterConnector() instead`,
  });
}
