import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // MSAL keeps the detected managed-identity source and its token cache in static state:
    // every test file gets its own process so environment set before the first request sticks.
    pool: 'forks',
    poolOptions: { forks: { isolate: true } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
