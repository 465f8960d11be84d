import { defineConfig } from 'vitest/config';
import { keylessTestSettings, sourceResolution } from '../../vitest.shared.ts';

export default defineConfig(({ mode }) => ({
  ...sourceResolution,
  test: keylessTestSettings(import.meta.url, mode),
}));
