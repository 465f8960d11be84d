import { expect } from 'vitest';
import { ConfigurationError } from '../../src/index.js';

/** Runs `run`, expects it to throw a ConfigurationError, and returns it for further checks. */
export function configurationError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}
