import { defineConfig } from 'vitest/config';
import { keylessTestDefaults } from '../../vitest.shared.ts';

export default defineConfig({ test: keylessTestDefaults });
