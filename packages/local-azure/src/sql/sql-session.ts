import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import {
  type ParameterValue,
  parseRpcRequest,
  parseSqlBatch,
  parseTransactionManagerRequest,
  TransactionRequestType,
  UnsupportedParameterTypeError,
} from './client-requests.js';
import {
  type FedAuthRequest,
  failedCheckOf,
  loginFailureDetail,
  parseFedAuthFeature,
  parseFedAuthTokenMessage,
  sqlAudiences,
} from './fedauth.js';
import { FeatureId, type Login7Request, parseLogin7 } from './login7.js';
import { messageLimits } from './message-limits.js';
import {
  defaultPacketSize,
  encodeMessage,
  maximumPacketSize,
  PacketStatus,
  PacketType,
  type TdsMessage,
  TdsPacketParser,
  TdsProtocolError,
} from './packet-framing.js';
import { buildPreloginResponse, Encryption, parsePreloginRequest } from './prelogin.js';
import { type NotesTable, runStatement, type StatementOutcome } from './query-handler.js';
import type { SqlFaultState } from './sql-faults.js';
import { PreloginTlsCarrier } from './tls-in-prelogin-transport.js';
import {
  CurrentCommand,
  colMetadataToken,
  DoneStatus,
  defaultCollation,
  doneInProcToken,
  doneProcToken,
  doneToken,
  EnvChangeType,
  envChangeBytes,
  envChangeText,
  errorToken,
  featureExtAckToken,
  fedAuthInfoToken,
  infoToken,
  loginAckToken,
  returnStatusToken,
  routingEnvChangeToken,
  rowToken,
  type ServerMessage,
} from './token-stream-writer.js';
import { type TransientLoginErrorNumber, transientErrorText } from './transient-errors.js';

/** A database user created for a Microsoft Entra identity. */
export interface SqlPrincipal {
  /** Display name: the database user created FROM EXTERNAL PROVIDER, and what SUSER_SNAME() says. */
  name: string;
  /** The identity's object id: Azure SQL maps the token's `oid` to the user. */
  objectId: string;
}

/** Checks an access token; the identity endpoint's `verifyToken` is one. */
export interface TokenVerifier {
  /** Resolves with the token's claims, or rejects naming the failed check. */
  verifyToken(
    token: string,
    expected: { audience: string | string[] },
  ): Promise<{ oid: string; [claim: string]: unknown }>;
}

/** What every connection shares: configuration, the principal table, the demo table, counters. */
export interface SessionHost {
  readonly tokenVerifier: TokenVerifier;
  readonly secureContext: SecureContext;
  readonly database: string;
  readonly serverName: string;
  readonly tenantId: string | undefined;
  readonly versionText: string;
  readonly notes: NotesTable;
  /** A connection that has not logged in by then is closed. */
  readonly loginTimeoutMilliseconds: number;
  findPrincipal(objectId: string): SqlPrincipal | undefined;
  nextSpid(): number;
  /** A connection now holds `delta` more (or, negative, fewer) bytes received but not yet handled. */
  recordBufferedBytes(delta: number): void;
  recordLogin(succeeded: boolean): void;
  recordQuery(): void;
  sessionClosed(session: SqlSession): void;
  /** Reconfigurations and mid-session token checks. */
  readonly faults: SqlFaultState;
  /**
   * Set on the gateway of an endpoint with the Redirect connection policy: where a client is sent
   * after its login is accepted.
   */
  readonly redirectTarget: { server: string; port: number } | undefined;
  recordRedirect(): void;
}

type Phase =
  | 'prelogin'
  | 'tls-handshake'
  | 'login'
  | 'fedauth-token'
  | 'authenticating'
  | 'logged-in'
  /** The login failed: the answer drains, then the socket closes. */
  | 'closing'
  | 'closed';

/** TDS 7.4: the only version tedious negotiates, and the first with FEDAUTH. */
const tdsVersion74 = 0x74000004;
/** What the endpoint reports as its SQL Server version: Azure SQL Database says 12.0.2000.8. */
const reportedVersion = [12, 0, 2000, 8] as const;
const tlsHandshakeRecord = 0x16;
const tokenIdentifiedPrincipal = '<token-identified principal>';

/** One client connection: transport set-up, login, then requests, strictly one message at a time. */
export class SqlSession {
  private readonly socket: Socket;
  private readonly host: SessionHost;
  private phase: Phase = 'prelogin';
  private strictTls = false;
  private fedAuthRequiredOffered = false;
  private transport: Socket | TLSSocket;
  private carrier: PreloginTlsCarrier | undefined;
  private parser = new TdsPacketParser({ maximumMessageBytes: messageLimits.prelogin });
  /** Payload bytes of complete messages waiting in `queue`. */
  private queuedBytes = 0;
  /** What this connection last reported to the host as held. */
  private reportedBytes = 0;
  private readingPaused = false;
  private packetSize = defaultPacketSize;
  private spid = 0;
  private principal: SqlPrincipal | undefined;
  private currentDatabase: string;
  private login: Login7Request | undefined;
  private queue: Promise<void> = Promise.resolve();
  private loginTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private transactionDescriptor: Buffer | undefined;
  private transactionDepth = 0;
  private transactionSnapshot: ReturnType<NotesTable['snapshot']> | undefined;
  private nextTransactionId = 1n;
  private activeWait: { timer: NodeJS.Timeout; finish: (canceled: boolean) => void } | undefined;
  /** Messages received and not yet answered: a session closed "when idle" waits for them. */
  private pendingMessages = 0;
  private closeRequested = false;
  /** The token the session logged in with, for mid-session re-validation; never printed. */
  #loginToken: string | undefined;
  private readonly onClearData = (chunk: Buffer): void => this.receive(chunk);

  constructor(socket: Socket, host: SessionHost) {
    this.socket = socket;
    this.host = host;
    this.transport = socket;
    this.currentDatabase = host.database;
    socket.setNoDelay(true);
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    this.loginTimer = setTimeout(() => this.close(), host.loginTimeoutMilliseconds);
    this.loginTimer.unref();
    // The first byte decides the protocol on the one port, as SQL Server 2022 does: a TLS
    // handshake record means TDS 8 (`encrypt: 'strict'`), a PRELOGIN packet means TDS 7.x.
    socket.once('data', (first: Buffer) => {
      if (first.length > 0 && first.readUInt8(0) === tlsHandshakeRecord) {
        this.strictTls = true;
        this.startTls(new PreloginTlsCarrier(socket, first, () => this.close(), { wrapped: false }), true);
        // Phase 'prelogin' keeps the PRELOGIN limit for the first message inside TLS.
      } else if (first.length > 0 && first.readUInt8(0) === PacketType.prelogin) {
        socket.on('data', this.onClearData);
        this.receive(first);
      } else {
        // Neither TDS nor TLS: nothing to answer in a protocol the peer would understand.
        this.close();
      }
    });
  }

  get isOpen(): boolean {
    return this.phase !== 'closed';
  }

  get isLoggedIn(): boolean {
    return this.phase === 'logged-in';
  }

  /**
   * Ends a logged-in session once every request it has received is answered (at once when idle),
   * with a clean TLS close: what a reconfiguration does to a session between two requests.
   */
  closeWhenIdle(): void {
    if (this.phase !== 'logged-in') return;
    this.closeRequested = true;
    if (this.pendingMessages === 0) this.closeAfterAnswer();
  }

  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.#loginToken = undefined;
    if (this.loginTimer !== undefined) clearTimeout(this.loginTimer);
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    if (this.activeWait !== undefined) clearTimeout(this.activeWait.timer);
    this.rollbackOpenTransaction();
    this.transport.destroy();
    this.socket.destroy();
    this.host.recordBufferedBytes(-this.reportedBytes);
    this.reportedBytes = 0;
    this.host.sessionClosed(this);
  }

  /** Tells the host how much this connection holds now: a partial packet or message, queued requests. */
  private reportHeldBytes(): void {
    if (this.phase === 'closed') return;
    const held = this.parser.heldBytes + this.queuedBytes + (this.carrier?.heldBytes ?? 0);
    this.host.recordBufferedBytes(held - this.reportedBytes);
    this.reportedBytes = held;
    // Before login a peer is anonymous: anything beyond what a login needs ends the connection.
    if (this.phase !== 'logged-in' && held > messageLimits.unauthenticatedConnection) this.close();
  }

  /** Stops reading while a logged-in client's pipelined requests exceed their ceiling. */
  private applyBackpressure(): void {
    if (this.phase !== 'logged-in') return;
    if (!this.readingPaused && this.queuedBytes > messageLimits.queuedRequests) {
      this.readingPaused = true;
      this.transport.pause();
    } else if (this.readingPaused && this.queuedBytes <= messageLimits.queuedRequests / 2) {
      this.readingPaused = false;
      this.transport.resume();
    }
  }

  private startTls(carrier: PreloginTlsCarrier, strict: boolean): void {
    this.phase = strict ? 'prelogin' : 'tls-handshake';
    this.carrier = carrier;
    const tlsSocket = new TLSSocket(carrier, {
      isServer: true,
      secureContext: this.host.secureContext,
      // TDS 8 names itself in ALPN; tedious's TDS 7.x TLS offers no ALPN.
      ...(strict ? { ALPNProtocols: ['tds/8.0'] } : {}),
    });
    this.transport = tlsSocket;
    tlsSocket.on('error', () => this.close());
    tlsSocket.on('close', () => this.close());
    tlsSocket.once('secure', () => {
      if (strict && tlsSocket.alpnProtocol !== 'tds/8.0') {
        this.close();
        return;
      }
      if (!strict) {
        this.phase = 'login';
        this.parser.maximumMessageBytes = messageLimits.login7;
      }
      tlsSocket.on('data', (chunk: Buffer) => this.receive(chunk));
    });
  }

  private receive(chunk: Buffer): void {
    if (this.phase === 'closed' || this.phase === 'closing') return;
    let messages: TdsMessage[];
    try {
      messages = this.parser.push(chunk);
    } catch {
      // Malformed framing, or more than the phase allows: SQL Server drops such a connection without an answer.
      this.close();
      return;
    }
    for (const message of messages) {
      // ATTENTION must not wait behind the request it cancels.
      if (message.type === PacketType.attention && this.phase === 'logged-in') {
        this.onAttention();
        continue;
      }
      const size = message.payload.length;
      this.queuedBytes += size;
      this.pendingMessages += 1;
      this.queue = this.queue
        .then(() => (this.phase === 'closed' || this.phase === 'closing' ? undefined : this.handle(message)))
        .catch(() => this.close())
        .finally(() => {
          this.queuedBytes -= size;
          this.pendingMessages -= 1;
          this.reportHeldBytes();
          this.applyBackpressure();
          if (this.closeRequested && this.pendingMessages === 0) this.closeAfterAnswer();
        });
    }
    this.reportHeldBytes();
    this.applyBackpressure();
  }

  private send(type: number, payload: Buffer): void {
    if (this.phase === 'closed') return;
    this.transport.write(encodeMessage(type, payload, this.packetSize, this.spid));
  }

  private sendTokens(tokens: Buffer[]): void {
    this.send(PacketType.tabularResult, Buffer.concat(tokens));
  }

  private async handle(message: TdsMessage): Promise<void> {
    switch (this.phase) {
      case 'prelogin':
        return this.handlePrelogin(message);
      case 'login':
        return this.handleLogin7(message);
      case 'fedauth-token':
        if (message.type !== PacketType.fedAuthToken) throw new TdsProtocolError('expected FEDAUTH_TOKEN');
        this.phase = 'authenticating';
        return this.authenticate(parseFedAuthTokenMessage(message.payload));
      case 'logged-in':
        return this.handleRequest(message);
      default:
        throw new TdsProtocolError(
          `unexpected message type 0x${message.type.toString(16)} in phase ${this.phase}`,
        );
    }
  }

  private handlePrelogin(message: TdsMessage): void {
    if (message.type !== PacketType.prelogin) throw new TdsProtocolError('expected PRELOGIN');
    const request = parsePreloginRequest(message.payload);
    this.fedAuthRequiredOffered = request.fedAuthRequiredOffered;
    // Azure SQL requires encryption: an `encrypt: false` client is told so (tedious then refuses to
    // continue, as it does against Azure). Inside TDS 8 TLS the option no longer matters.
    const response = buildPreloginResponse({
      encryption: Encryption.required,
      fedAuthRequired: request.fedAuthRequiredOffered,
      version: [reportedVersion[0], reportedVersion[1], reportedVersion[2]],
    });
    // The PRELOGIN answer is a tabular result (0x04), as SQL Server sends it; only the TLS
    // handshake flights that follow travel as PRELOGIN (0x12) packets.
    this.send(PacketType.tabularResult, response);
    if (this.strictTls) {
      this.phase = 'login';
      this.parser.maximumMessageBytes = messageLimits.login7;
      return;
    }
    if (request.encryption === Encryption.notSupported) {
      // The client cannot encrypt; it will hang up after reading the answer.
      this.phase = 'tls-handshake';
      return;
    }
    // From here the client's bytes are PRELOGIN-wrapped TLS: hand the socket to the carrier.
    this.socket.off('data', this.onClearData);
    const buffered = this.parser.takeBuffered();
    this.parser = new TdsPacketParser({ maximumMessageBytes: messageLimits.login7 });
    this.startTls(
      new PreloginTlsCarrier(this.socket, buffered, () => this.close(), { wrapped: true }),
      false,
    );
  }

  private loginFailure(detail: string | undefined, user = tokenIdentifiedPrincipal): void {
    this.host.recordLogin(false);
    const message = `Login failed for user '${user}'.${detail ? ` ${detail}` : ''}`;
    this.sendTokens([
      errorToken({ number: 18456, state: 1, severity: 14, message, serverName: this.host.serverName }),
      doneToken(DoneStatus.error),
    ]);
    this.closeAfterAnswer();
  }

  /** SQL Server closes the connection after a failed login; the answer drains first. */
  private closeAfterAnswer(): void {
    if (this.phase === 'closed' || this.phase === 'closing') return;
    this.phase = 'closing';
    this.transport.end();
    this.closeTimer = setTimeout(() => this.close(), 1_000);
    this.closeTimer.unref();
  }

  private handleLogin7(message: TdsMessage): Promise<void> | undefined {
    if (message.type !== PacketType.login7) throw new TdsProtocolError('expected LOGIN7');
    const login = parseLogin7(message.payload);
    this.login = login;
    if (login.tdsVersion < tdsVersion74 && login.tdsVersion !== 0x08000000) {
      throw new TdsProtocolError('TDS versions before 7.4 have no FEDAUTH');
    }
    // 0 asks for the server's default; anything else is clamped to what TDS allows.
    this.packetSize =
      login.packetSize === 0
        ? defaultPacketSize
        : Math.min(Math.max(login.packetSize, 512), maximumPacketSize);
    // Still anonymous: the only message to come is a FEDAUTH_TOKEN, and the limits stay tight.
    this.parser.maximumMessageBytes = messageLimits.fedAuthToken;

    const fedAuthData = login.features.get(FeatureId.fedAuth);
    if (fedAuthData === undefined) {
      // An Entra-only server refuses SQL authentication, with Azure's reason text.
      this.loginFailure(
        'Reason: Azure Active Directory only authentication is enabled. Please contact your system administrator.',
        login.userName || tokenIdentifiedPrincipal,
      );
      return undefined;
    }
    const fedAuth: FedAuthRequest = parseFedAuthFeature(fedAuthData);
    if (fedAuth.kind === 'security-token') {
      this.phase = 'authenticating';
      return this.authenticate(fedAuth.token);
    }
    // token-credential and friends: tell the client where to get a token, for which resource.
    const authority = `https://login.microsoftonline.com/${this.host.tenantId ?? 'common'}/`;
    this.sendTokens([fedAuthInfoToken(authority, sqlAudiences[0])]);
    this.phase = 'fedauth-token';
    return undefined;
  }

  /**
   * While Azure reconfigures the database, the login is refused with a transient error and no
   * LOGINACK. 4060 comes with the 18456 that SQL Server always adds to it; the others alone.
   */
  private transientRefusal(number: TransientLoginErrorNumber): void {
    this.host.recordLogin(false);
    const { severity, message } = transientErrorText(number, {
      database: this.login?.database || this.host.database,
      serverName: this.host.serverName,
    });
    const serverName = this.host.serverName;
    this.sendTokens([
      errorToken({ number, state: 1, severity, message, serverName }),
      ...(number === 4060
        ? [
            errorToken({
              number: 18456,
              state: 1,
              severity: 14,
              message: `Login failed for user '${tokenIdentifiedPrincipal}'.`,
              serverName,
            }),
          ]
        : []),
      doneToken(DoneStatus.error),
    ]);
    this.closeAfterAnswer();
  }

  private async authenticate(token: string): Promise<void> {
    const refusal = this.host.faults.loginRefusal();
    if (refusal !== undefined) {
      this.transientRefusal(refusal);
      return;
    }
    let claims: { oid: string; [claim: string]: unknown };
    try {
      claims = await this.host.tokenVerifier.verifyToken(token, { audience: [...sqlAudiences] });
    } catch (error) {
      if (this.phase !== 'authenticating') return;
      this.loginFailure(loginFailureDetail(failedCheckOf(error)));
      return;
    }
    if (this.phase !== 'authenticating') return;
    if (this.host.tenantId !== undefined && claims.tid !== this.host.tenantId) {
      this.loginFailure(loginFailureDetail('tenant'));
      return;
    }
    const principal = this.host.findPrincipal(claims.oid);
    if (principal === undefined) {
      // Azure says no more than this when the token is fine but no database user maps to its oid.
      this.loginFailure(undefined);
      return;
    }
    const login = this.login;
    const requestedDatabase = login?.database ?? '';
    if (requestedDatabase !== '' && requestedDatabase.toLowerCase() !== this.host.database.toLowerCase()) {
      this.host.recordLogin(false);
      this.sendTokens([
        errorToken({
          number: 4060,
          state: 1,
          severity: 11,
          message: `Cannot open database "${requestedDatabase}" requested by the login. The login failed.`,
          serverName: this.host.serverName,
        }),
        errorToken({
          number: 18456,
          state: 1,
          severity: 14,
          message: `Login failed for user '${tokenIdentifiedPrincipal}'.`,
          serverName: this.host.serverName,
        }),
        doneToken(DoneStatus.error),
      ]);
      this.closeAfterAnswer();
      return;
    }
    if (this.host.redirectTarget !== undefined) {
      this.redirect(this.host.redirectTarget);
      return;
    }
    this.#loginToken = token;
    this.principal = principal;
    this.spid = this.host.nextSpid();
    this.phase = 'logged-in';
    // Logged in: requests may be larger; an oversized one is dropped as it arrives and answered.
    this.parser.maximumMessageBytes = messageLimits.request;
    this.parser.discardOversized = true;
    if (this.loginTimer !== undefined) clearTimeout(this.loginTimer);
    this.host.recordLogin(true);
    const serverName = this.host.serverName;
    // The order Azure SQL uses: database, its INFO, collation, language, its INFO, LOGINACK,
    // FEATUREEXTACK, packet size, DONE.
    this.sendTokens([
      envChangeText(EnvChangeType.database, this.currentDatabase, 'master'),
      infoToken({
        number: 5701,
        state: 2,
        severity: 0,
        message: `Changed database context to '${this.currentDatabase}'.`,
        serverName,
      }),
      envChangeBytes(EnvChangeType.sqlCollation, defaultCollation, Buffer.alloc(0)),
      envChangeText(EnvChangeType.language, 'us_english', ''),
      infoToken({
        number: 5703,
        state: 1,
        severity: 0,
        message: 'Changed language setting to us_english.',
        serverName,
      }),
      loginAckToken({
        tdsVersion: tdsVersion74,
        programName: 'Microsoft SQL Server',
        version: reportedVersion,
      }),
      featureExtAckToken([
        // An empty FEDAUTH acknowledgement: the client sent no nonce, so there is nothing to sign.
        { featureId: FeatureId.fedAuth, data: Buffer.alloc(0) },
        { featureId: FeatureId.utf8Support, data: Buffer.from([0x01]) },
      ]),
      envChangeText(
        EnvChangeType.packetSize,
        String(this.packetSize),
        String(login?.packetSize ?? this.packetSize),
      ),
      doneToken(DoneStatus.final),
    ]);
  }

  /**
   * The gateway's answer under the Redirect policy: the login is accepted (LOGINACK), then a routing
   * ENVCHANGE names the node to log in to, and the gateway hangs up. The client opens a new
   * connection there, with its own TLS handshake and token login, and the node checks everything again.
   */
  private redirect(target: { server: string; port: number }): void {
    this.host.recordRedirect();
    this.sendTokens([
      loginAckToken({
        tdsVersion: tdsVersion74,
        programName: 'Microsoft SQL Server',
        version: reportedVersion,
      }),
      featureExtAckToken([
        { featureId: FeatureId.fedAuth, data: Buffer.alloc(0) },
        { featureId: FeatureId.utf8Support, data: Buffer.from([0x01]) },
      ]),
      routingEnvChangeToken(target.server, target.port),
      doneToken(DoneStatus.final),
    ]);
    this.closeAfterAnswer();
  }

  // ----- logged in -----

  /**
   * Azure SQL may re-validate a session's token mid-session (after a reconfiguration clears its
   * token cache) and answer an expired one with 18456 "Token is expired." — observed as Level 14,
   * State 233, Line 1 — or 37396, then the session is unusable
   * (https://github.com/dotnet/SqlClient/issues/3245, https://github.com/dotnet/SqlClient/issues/2792).
   * Returns true when it answered the request that way (and is closing the session).
   */
  private async refusedForExpiredToken(isRpc: boolean): Promise<boolean> {
    const errorNumber = this.host.faults.tokenRecheckError;
    const token = this.#loginToken;
    if (errorNumber === undefined || token === undefined) return false;
    try {
      await this.host.tokenVerifier.verifyToken(token, { audience: [...sqlAudiences] });
      return false;
    } catch (error) {
      if (this.phase !== 'logged-in') return true;
      const refusal =
        errorNumber === 37396
          ? this.sqlError(
              37396,
              1,
              16,
              'Query cannot be executed, access token is expired. Please login with a new access token and execute query again.',
            )
          : this.sqlError(
              18456,
              233,
              14,
              `Login failed for user '${tokenIdentifiedPrincipal}'. ${loginFailureDetail(failedCheckOf(error))}`,
            );
      this.sendTokens([refusal, isRpc ? doneProcToken(DoneStatus.error) : doneToken(DoneStatus.error)]);
      this.closeAfterAnswer();
      return true;
    }
  }

  private onAttention(): void {
    if (this.activeWait !== undefined) {
      // The running request answers first (as canceled), then the attention gets its own DONE.
      this.activeWait.finish(true);
      return;
    }
    this.sendTokens([doneToken(DoneStatus.attention)]);
  }

  private async handleRequest(message: TdsMessage): Promise<void> {
    const { type } = message;
    if (
      type !== PacketType.sqlBatch &&
      type !== PacketType.rpcRequest &&
      type !== PacketType.transactionManager
    ) {
      throw new TdsProtocolError(`message type 0x${type.toString(16)} is not a request`);
    }
    if (await this.refusedForExpiredToken(type === PacketType.rpcRequest)) return;
    const prefix: Buffer[] = [];
    const reset =
      (message.firstStatus & (PacketStatus.resetConnection | PacketStatus.resetConnectionSkipTransaction)) !==
      0;
    if (reset) {
      // sp_reset_connection semantics, as a pool's `connection.reset()` expects.
      prefix.push(envChangeBytes(EnvChangeType.resetConnection, Buffer.alloc(0), Buffer.alloc(0)));
      if ((message.firstStatus & PacketStatus.resetConnectionSkipTransaction) === 0) {
        const rolledBack = this.rollbackOpenTransaction();
        // Tell the client its transaction is gone, so it stops sending the descriptor.
        if (rolledBack !== undefined) {
          prefix.push(envChangeBytes(EnvChangeType.rollbackTransaction, Buffer.alloc(0), rolledBack));
        }
      }
      this.currentDatabase = this.host.database;
    }
    if ((message.lastStatus & PacketStatus.ignore) !== 0) {
      // The client canceled before finishing the message: answer it, run nothing.
      this.sendTokens([...prefix, doneToken(DoneStatus.attention)]);
      return;
    }
    if (message.oversized) {
      this.sendTokens([
        ...prefix,
        this.sqlError(
          40515,
          1,
          16,
          `The request is larger than the keyless local SQL endpoint accepts (${messageLimits.request / 1024 / 1024} MB); it was not run. The endpoint is an emulator for the authentication path that answers a few small statements, not a database.`,
        ),
        type === PacketType.rpcRequest ? doneProcToken(DoneStatus.error) : doneToken(DoneStatus.error),
      ]);
      return;
    }
    if (type === PacketType.transactionManager) {
      this.sendTokens([...prefix, ...this.transactionManagerResponse(message.payload)]);
      return;
    }
    this.host.recordQuery();
    let statement: string;
    let parameters = new Map<string, ParameterValue>();
    const isRpc = type === PacketType.rpcRequest;
    if (isRpc) {
      let rpc: ReturnType<typeof parseRpcRequest>;
      try {
        rpc = parseRpcRequest(message.payload);
      } catch (error) {
        if (!(error instanceof UnsupportedParameterTypeError)) throw error;
        this.sendTokens([
          ...prefix,
          this.sqlError(2715, 3, 16, error.message),
          doneProcToken(DoneStatus.error),
        ]);
        return;
      }
      const isExecuteSql =
        rpc.procedure === 10 ||
        (typeof rpc.procedure === 'string' && /^(sys\.)?sp_executesql$/i.test(rpc.procedure));
      if (!isExecuteSql) {
        const name = typeof rpc.procedure === 'string' ? rpc.procedure : `special procedure ${rpc.procedure}`;
        this.sendTokens([
          ...prefix,
          this.sqlError(
            2812,
            62,
            16,
            `Could not find stored procedure '${name}'. The keyless local SQL endpoint only runs sp_executesql.`,
          ),
          doneProcToken(DoneStatus.error),
        ]);
        return;
      }
      const [statementParameter, , ...values] = rpc.parameters;
      statement = typeof statementParameter?.value === 'string' ? statementParameter.value : '';
      parameters = new Map(values.map((parameter) => [parameter.name.toLowerCase(), parameter.value]));
    } else {
      statement = parseSqlBatch(message.payload);
    }

    const outcome = runStatement(statement, {
      principalName: this.principal?.name ?? '',
      database: this.currentDatabase,
      spid: this.spid,
      serverName: this.host.serverName,
      versionText: this.host.versionText,
      transactionCount: this.transactionDepth,
      notes: this.host.notes,
      parameters,
    });
    if (outcome.kind === 'wait') {
      const canceled = await this.wait(outcome.milliseconds);
      this.sendTokens([...prefix, isRpc ? doneProcToken(DoneStatus.final) : doneToken(DoneStatus.final)]);
      if (canceled) this.sendTokens([doneToken(DoneStatus.attention)]);
      return;
    }
    this.sendTokens([...prefix, ...this.outcomeTokens(outcome, isRpc)]);
  }

  private wait(milliseconds: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (canceled: boolean): void => {
        if (this.activeWait === undefined) return;
        clearTimeout(this.activeWait.timer);
        this.activeWait = undefined;
        resolve(canceled);
      };
      const timer = setTimeout(() => finish(false), milliseconds);
      timer.unref();
      this.activeWait = { timer, finish };
    });
  }

  private sqlError(number: number, state: number, severity: number, message: string): Buffer {
    return errorToken({ number, state, severity, message, serverName: this.host.serverName, lineNumber: 1 });
  }

  /** Batches end with DONE; sp_executesql ends its statement with DONEINPROC, then RETURNSTATUS and DONEPROC. */
  private outcomeTokens(outcome: Exclude<StatementOutcome, { kind: 'wait' }>, isRpc: boolean): Buffer[] {
    const finish = (status: number, command: number, rowCount = 0): Buffer[] =>
      isRpc
        ? [
            doneInProcToken(status | DoneStatus.more, command, rowCount),
            returnStatusToken(status & DoneStatus.error ? 1 : 0),
            doneProcToken(status & DoneStatus.error, CurrentCommand.execute),
          ]
        : [doneToken(status, command, rowCount)];
    switch (outcome.kind) {
      case 'error': {
        const error = this.sqlError(outcome.number, outcome.state, outcome.severity, outcome.message);
        return isRpc ? [error, doneProcToken(DoneStatus.error)] : [error, doneToken(DoneStatus.error)];
      }
      case 'rows':
        return [
          colMetadataToken(outcome.columns),
          ...outcome.rows.map((row) => rowToken(outcome.columns, row)),
          ...finish(DoneStatus.count, CurrentCommand.select, outcome.rows.length),
        ];
      case 'count':
        return finish(DoneStatus.count, outcome.command, outcome.rowCount);
      case 'done':
        return finish(DoneStatus.final, outcome.command);
      case 'transaction':
        return this.transactionTokens(outcome.action, isRpc);
    }
  }

  private transactionTokens(action: 'begin' | 'commit' | 'rollback', isRpc: boolean): Buffer[] {
    const end = (status: number, command: number): Buffer[] =>
      isRpc
        ? [doneInProcToken(status | DoneStatus.more, command), returnStatusToken(0), doneProcToken(status)]
        : [doneToken(status, command)];
    if (action === 'begin') {
      this.transactionDepth += 1;
      if (this.transactionDepth > 1) return end(DoneStatus.final, CurrentCommand.beginTransaction);
      const descriptor = Buffer.alloc(8);
      descriptor.writeBigUInt64LE((BigInt(this.spid) << 32n) | this.nextTransactionId);
      this.nextTransactionId += 1n;
      this.transactionDescriptor = descriptor;
      this.transactionSnapshot = this.host.notes.snapshot();
      return [
        envChangeBytes(EnvChangeType.beginTransaction, descriptor, Buffer.alloc(0)),
        ...end(DoneStatus.final, CurrentCommand.beginTransaction),
      ];
    }
    const descriptor = this.transactionDescriptor;
    if (this.transactionDepth === 0 || descriptor === undefined) {
      const [number, verb] = action === 'commit' ? [3902, 'COMMIT'] : [3903, 'ROLLBACK'];
      const error = this.sqlError(
        number,
        1,
        16,
        `The ${verb} TRANSACTION request has no corresponding BEGIN TRANSACTION.`,
      );
      return isRpc ? [error, doneProcToken(DoneStatus.error)] : [error, doneToken(DoneStatus.error)];
    }
    if (action === 'commit' && this.transactionDepth > 1) {
      this.transactionDepth -= 1;
      return end(DoneStatus.final, CurrentCommand.commitTransaction);
    }
    // A commit of the outermost level, or any rollback, ends the transaction.
    if (action === 'rollback' && this.transactionSnapshot !== undefined) {
      this.host.notes.restore(this.transactionSnapshot);
    }
    this.transactionDepth = 0;
    this.transactionDescriptor = undefined;
    this.transactionSnapshot = undefined;
    const type = action === 'commit' ? EnvChangeType.commitTransaction : EnvChangeType.rollbackTransaction;
    const command =
      action === 'commit' ? CurrentCommand.commitTransaction : CurrentCommand.rollbackTransaction;
    return [envChangeBytes(type, Buffer.alloc(0), descriptor), ...end(DoneStatus.final, command)];
  }

  private transactionManagerResponse(payload: Buffer): Buffer[] {
    const request = parseTransactionManagerRequest(payload);
    switch (request.requestType) {
      case TransactionRequestType.begin:
        return this.transactionTokens('begin', false);
      case TransactionRequestType.commit:
        return this.transactionTokens('commit', false);
      case TransactionRequestType.rollback:
        return this.transactionTokens('rollback', false);
      case TransactionRequestType.save:
        return [doneToken(DoneStatus.final)];
      default:
        return [
          this.sqlError(
            40515,
            1,
            16,
            `Transaction manager request ${request.requestType} (distributed transactions) is not supported by the keyless local SQL endpoint.`,
          ),
          doneToken(DoneStatus.error),
        ];
    }
  }

  /** Returns the descriptor of the transaction it rolled back, if one was open. */
  private rollbackOpenTransaction(): Buffer | undefined {
    const descriptor = this.transactionDescriptor;
    if (this.transactionDepth > 0 && this.transactionSnapshot !== undefined) {
      this.host.notes.restore(this.transactionSnapshot);
    }
    this.transactionDepth = 0;
    this.transactionDescriptor = undefined;
    this.transactionSnapshot = undefined;
    return descriptor;
  }
}

export type { ServerMessage };
