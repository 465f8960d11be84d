import { defineConfig } from 'vitest/config';
import { keylessTestSettings, sourceResolution } from '../../vitest.shared.ts';

export default defineConfig(({ mode }) => ({
  ...sourceResolution,
  test: {
    ...keylessTestSettings(import.meta.url, mode),
    // The tarballs are packed once, before the test files fork, and shared by them.
    globalSetup: ['src/pack-tarballs-setup.ts'],
    // The files mostly wait on child processes (npm, tsc, TypeDoc, the stack), so three run at once
    // even on two cores: the install check alone takes most of the run.
    poolOptions: { forks: { isolate: true, maxForks: 3, minForks: 1 } },
    // npm install, TypeDoc and the local stack are slow on a cold cache; no test asserts a duration.
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
}));
