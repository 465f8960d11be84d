import { defineConfig } from 'vitest/config';
import { keylessTestSettings, sourceResolution } from '../../vitest.shared.ts';

export default defineConfig(({ mode }) => ({
  ...sourceResolution,
  // Everything runs on a virtual clock in one process: no local stack, no CA.
  test: keylessTestSettings(import.meta.url, mode),
}));
