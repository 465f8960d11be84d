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

/**
 * An optional npm package a service runs on is not installed (Azurite for Blob). The message names
 * the service and the exact command that installs the supported range.
 */
export class MissingPackageError extends Error {
  override readonly name = 'MissingPackageError';
  readonly code = 'missing-package' as const;
  /** e.g. `npm install --save-dev azurite@^3.37.0`. */
  readonly installCommand: string;

  constructor(
    readonly packageName: string,
    readonly range: string,
    service: string,
    options?: { cause?: unknown },
  ) {
    const installCommand = `npm install --save-dev ${packageName}@${range}`;
    super(
      `${service} needs the npm package ${packageName}, an optional peer dependency of @keyless/local-azure that is not installed. ` +
        `Install it with: ${installCommand} (or pnpm add -D / yarn add -D), or start the stack without this service.`,
      options,
    );
    this.installCommand = installCommand;
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
