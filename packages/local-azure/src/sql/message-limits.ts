/**
 * How much a connection may make the endpoint hold. Before a login is accepted a peer is anonymous,
 * so every limit there is a small multiple of what a real client sends; after it, a logged-in
 * client may send larger requests, and its own ceiling keeps one connection from holding more.
 * Specification: [MS-TDS], https://learn.microsoft.com/openspecs/windows_protocols/ms-tds/
 */
export const messageLimits = {
  /**
   * PRELOGIN: a handful of options, under 100 bytes from tedious. [MS-TDS] 2.2.3.1.3: "The packet
   * size MUST be smaller than or equal to 4,096 bytes until Length is successfully negotiated"
   * (https://learn.microsoft.com/openspecs/windows_protocols/ms-tds/c1cddd03-b448-470a-946a-9b1b908f27a7),
   * and a PRELOGIN message is one such packet.
   */
  prelogin: 4_096,
  /** [MS-TDS] 2.2.6.4 LOGIN7: "The length of a LOGIN7 stream MUST NOT be longer than 128K-1(byte) bytes." */
  login7: 128 * 1024 - 1,
  /**
   * FEDAUTH_TOKEN ([MS-TDS] 2.2.6.3 sets no limit): an Entra access token is 1–3 KB, a few KB more
   * with many group claims, and it travels as UCS-2; 64 KB is ample.
   */
  fedAuthToken: 64 * 1024,
  /** A TLS handshake flight carried in PRELOGIN packets (TDS 7.x): certificates are a few KB. */
  tlsHandshakeFlight: 64 * 1024,
  /**
   * One request (batch, RPC) from a logged-in client. Larger ones are read and dropped as they
   * arrive, and answered with an error: the endpoint answers a few small statements, not bulk data.
   */
  request: 4 * 1024 * 1024,
  /**
   * Complete requests waiting behind the one running (a client may pipeline them): beyond this the
   * endpoint stops reading from the connection until it has caught up.
   */
  queuedRequests: 8 * 1024 * 1024,
  /** Before login, everything a connection may make the endpoint hold: a LOGIN7 and a packet more. */
  unauthenticatedConnection: 192 * 1024,
} as const;

/** A client that has not logged in within this time is disconnected, as SQL Server does. */
export const defaultLoginTimeoutMilliseconds = 30_000;
