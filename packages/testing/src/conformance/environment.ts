/**
 * Runs `action` with these environment variables set (undefined: removed), then puts back what
 * was there, whatever happened. Synchronous on purpose: a connector reads its variables during
 * construction, which must itself be synchronous, so nothing else runs while they are changed.
 */
export function withEnvironment<Result>(
  changes: Readonly<Record<string, string | undefined>>,
  action: () => Result,
): Result {
  const saved = new Map(Object.keys(changes).map((name) => [name, process.env[name]]));
  try {
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    return action();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
