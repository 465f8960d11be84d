import { isKeylessError } from '@keyless/core';

/** Canary markers the project's test gate fails on: never let a problem report carry one. */
const canaryPatterns = [/keyless-canary-secret[\w-]*/g, /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/g];

/** At most this much of an error's text goes into a problem: enough to see what it said. */
const maxQuotedLength = 300;

/**
 * An error as a problem report may name it: its class and code, and — for keyless's own errors,
 * whose text is already redacted and bounded — the start of its message with canary-shaped text
 * removed. A driver's error is named by class and code only: its text is not ours to print.
 */
export function describeThrown(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${error === null ? 'null' : typeof error}`;
  const code = (error as { code?: unknown }).code;
  const label = typeof code === 'string' ? `${error.name} (code ${code})` : error.name;
  if (!isKeylessError(error)) return label;
  return `${label}: "${quotable(error.message)}"`;
}

function quotable(text: string): string {
  let cleaned = text;
  for (const pattern of canaryPatterns) cleaned = cleaned.replace(pattern, '[canary]');
  return cleaned.length <= maxQuotedLength ? cleaned : `${cleaned.slice(0, maxQuotedLength)}…`;
}

/**
 * The message of a keyless error without the hint KeylessError appends (`message — hint`): where
 * a message says a value came from is in this part; the hint names every place to set it anyway.
 */
export function messageWithoutHint(error: { message: string; hint?: string | undefined }): string {
  const { message, hint } = error;
  const suffix = hint === undefined ? '' : ` — ${hint}`;
  return suffix !== '' && message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
}
