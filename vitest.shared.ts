/**
 * The test settings every package shares. MSAL keeps the detected managed-identity source and its
 * token cache in static state, so every test file gets its own process (forks, isolated), with the
 * environment set before its first request.
 */
export const keylessTestDefaults = {
  include: ['test/**/*.test.ts'],
  pool: 'forks' as const,
  poolOptions: { forks: { isolate: true } },
  testTimeout: 30_000,
  hookTimeout: 30_000,
};
