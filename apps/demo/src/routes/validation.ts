import type { z } from 'zod';
import { DemoError } from '../errors.js';

export function parseOrReject<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const detail = result.error.issues
    .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
    .join('; ');
  throw new DemoError('bad-request', 400, `invalid request: ${detail}`);
}
