import { defineConfig } from 'vitest/config';
import { keylessTestDefaults } from '../../vitest.shared.ts';

export default defineConfig({
  // The test CA is made before workers fork, so they trust it through NODE_EXTRA_CA_CERTS.
  test: { ...keylessTestDefaults, globalSetup: ['src/global-setup.ts'] },
});
