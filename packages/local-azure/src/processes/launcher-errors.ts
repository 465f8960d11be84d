/** A server binary is not installed; the message names the Debian package that provides it. */
export class MissingBinaryError extends Error {
  override readonly name = 'MissingBinaryError';
  readonly code = 'missing-binary' as const;

  constructor(
    readonly binary: string,
    readonly debianPackage: string,
    searched: readonly string[],
  ) {
    super(
      `${binary}: not found (looked in ${searched.join(', ')}). Install it with: apt-get install -y ${debianPackage}`,
    );
  }
}

/** A server did not become ready; the message carries the tail of its own log. */
export class ServerStartError extends Error {
  override readonly name = 'ServerStartError';
  readonly code = 'server-start-failed' as const;

  constructor(server: string, reason: string, logTail: string, options?: { cause?: unknown }) {
    super(
      `${server} did not start: ${reason}${logTail ? `\n--- last lines of its log ---\n${logTail}` : ''}`,
      options,
    );
  }
}
