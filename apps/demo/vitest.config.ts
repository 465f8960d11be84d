import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { keylessTestDefaults } from '../../vitest.shared.ts';

export default defineConfig({
  // The local CA is made before workers fork, so they trust it through NODE_EXTRA_CA_CERTS.
  test: {
    ...keylessTestDefaults,
    globalSetup: [fileURLToPath(import.meta.resolve('@keyless/testing/global-setup'))],
  },
});
