import { describe, expect, it } from 'vitest';
import { warnAboutCredentialPrintingDebugOutput } from '../src/internal.js';

describe('the warning about debug output that prints credentials', () => {
  it('is emitted once, in production only, with code KEYLESS_DEBUG_OUTPUT', async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error) => warnings.push(warning);
    process.on('warning', listener);
    try {
      warnAboutCredentialPrintingDebugOutput({ NODE_ENV: 'development', DEBUG: '*' });
      warnAboutCredentialPrintingDebugOutput({ NODE_ENV: 'production', DEBUG: 'express:*' });
      warnAboutCredentialPrintingDebugOutput({
        NODE_ENV: 'production',
        DEBUG: 'ioredis:*',
        NODE_DEBUG: 'https',
      });
      warnAboutCredentialPrintingDebugOutput({ NODE_ENV: 'production', DEBUG: '*' });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    expect(warnings).toHaveLength(1);
    expect((warnings[0] as Error & { code?: string }).code).toBe('KEYLESS_DEBUG_OUTPUT');
    expect(warnings[0]?.message).toMatch(/DEBUG=ioredis:\* and NODE_DEBUG=https/);
  });
});
