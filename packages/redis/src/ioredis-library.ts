import { createRequire } from 'node:module';
import type { ConfigurationError } from '@keyless/core';
import { missingLibraryError } from '@keyless/core/internal';
import type * as IORedis from 'ioredis';

/** The part of ioredis keyless uses. */
export type IORedisLibrary = Pick<typeof IORedis, 'Redis' | 'AbstractConnector' | 'Cluster'>;

const libraryName = 'ioredis';
const requireFromHere = createRequire(import.meta.url);
let loaded: IORedisLibrary | undefined;

/**
 * ioredis, loaded when the first ioredis client is made — never at import, so that an application
 * using node-redis (`createNodeRedisConnector()`) never loads or installs it: both clients are
 * optional peers. Through require(): the `client` getter stays synchronous, and ioredis ships
 * CommonJS only.
 */
export function ioredisLibrary(): IORedisLibrary {
  if (loaded === undefined) {
    try {
      loaded = requireFromHere(libraryName) as IORedisLibrary;
    } catch (error) {
      throw missingIORedisError(error);
    }
  }
  return loaded;
}

/** The optional peer cannot be loaded: say what to install, and that node-redis users need not. */
export function missingIORedisError(error: unknown): ConfigurationError {
  return missingLibraryError(error, {
    library: libraryName,
    neededBy: 'createRedisConnector() and createRedisClusterConnector()',
    hint: `install it next to @keyless/redis (npm install ${libraryName}); it is an optional peer dependency, needed only for createRedisConnector() and createRedisClusterConnector() — node-redis users call createNodeRedisConnector() instead`,
  });
}
