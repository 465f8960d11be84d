/**
 * NODE_EXTRA_CA_CERTS names a file that cannot be read. Node itself only warns and goes on without
 * those certificates; keyless-local refuses instead, because a trust bundle without them breaks
 * everything that relied on them (npm, git and apps behind a TLS-inspecting proxy) in ways that are
 * hard to trace back to here.
 */
export class UnreadableExtraCertificatesError extends Error {
  override readonly name = 'UnreadableExtraCertificatesError';
  readonly code = 'unreadable-extra-ca-certs' as const;
  /** The path NODE_EXTRA_CA_CERTS gave. */
  readonly path: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(
      `NODE_EXTRA_CA_CERTS names ${path}, which cannot be read (${reason}). The local CA is added to the certificates you already trust, so that file must be readable: fix the path, or unset NODE_EXTRA_CA_CERTS if you trust nothing extra.`,
      options,
    );
    this.path = path;
  }
}
