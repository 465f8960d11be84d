import { defineConfig } from 'vitest/config';
import { keylessTestDefaults } from '../../vitest.shared.ts';

export default defineConfig({
  // Everything runs on a virtual clock in one process: no local stack, no CA.
  test: keylessTestDefaults,
});
