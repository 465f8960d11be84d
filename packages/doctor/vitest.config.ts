import { defineConfig } from 'vitest/config';
import { keylessTestSettings, sourceEntry, sourceResolution } from '../../vitest.shared.ts';

export default defineConfig(({ mode }) => ({
  ...sourceResolution,
  // The local CA is made before workers fork, so they trust it through NODE_EXTRA_CA_CERTS.
  test: {
    ...keylessTestSettings(import.meta.url, mode),
    globalSetup: [sourceEntry('@keyless/testing/global-setup')],
  },
}));
