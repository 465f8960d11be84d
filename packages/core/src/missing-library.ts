import { ConfigurationError } from './errors.js';

/** What a library that could not be loaded was needed for, and what the user should do. */
export interface LibraryUse {
  /** The npm package, e.g. `@azure/msal-node`. */
  library: string;
  /** Who needed it, as the start of a sentence: `The msal backend`, `createRedisConnector()`. */
  neededBy: string;
  /** What to do: the install command, and when the library is not needed at all. */
  hint: string;
}

/**
 * A library keyless loads on first use (a token backend, an SDK or a client that is an optional
 * peer) that could not be loaded becomes a ConfigurationError naming it — absent, or present but
 * failing to load — with the loader's first line and the hint; the loader's error stays the cause.
 */
export function missingLibraryError(error: unknown, use: LibraryUse): ConfigurationError {
  const code = (error as { code?: unknown } | null)?.code;
  const notFound = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
  const reason = error instanceof Error && error.message ? ` (${error.message.split('\n')[0]})` : '';
  return new ConfigurationError(
    notFound
      ? `${use.neededBy} needs ${use.library}, which could not be found${reason}`
      : `${use.neededBy} could not load ${use.library}${reason}`,
    { hint: use.hint, cause: error },
  );
}
