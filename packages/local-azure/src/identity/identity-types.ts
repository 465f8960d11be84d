import type { JWK, JWTPayload } from 'jose';

export interface ManagedIdentityDefinition {
  /** Display name. */
  name: string;
  /** The identity's application (client) id: the token's `appid`. */
  clientId: string;
  /** The identity's object (principal) id: the token's `oid` and `sub`. */
  objectId: string;
  /**
   * ARM id `/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`.
   * Absent on the system-assigned identity.
   */
  resourceId?: string;
}

export type SystemAssignedIdentityDefinition = Omit<ManagedIdentityDefinition, 'resourceId'>;

export type IdentityProtocol = 'app-service' | 'imds';

export interface IdentityEndpointOptions {
  /** Loopback address to listen on; anything else is refused. Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default a fixed GUID, so a saved environment keeps working across runs. */
  tenantId?: string;
  /** Default a fixed identity; `false` = no system-assigned identity, answered as Azure does. */
  systemAssigned?: SystemAssignedIdentityDefinition | false;
  /** Default one `keyless-app` identity. A definition without `resourceId` gets one. */
  userAssigned?: ManagedIdentityDefinition[];
  /** Default 86 400 (24 h, like real managed-identity tokens). */
  tokenLifetimeSeconds?: number;
  /** The App Service `IDENTITY_HEADER` value. Default random. */
  identityHeader?: string;
  /** Clock in milliseconds for `iat`, `nbf`, `exp` and for `verifyToken`. Default `Date.now`. */
  now?: () => number;
  /** A private RSA JWK to sign with, so tokens stay verifiable across restarts. Default a new key. */
  signingKey?: JWK;
}

export interface IssuedTokenEvent {
  /** Not enumerable: `JSON.stringify` and `util.inspect` of the event never show it. */
  readonly token: string;
  /** The requested resource exactly as sent: the token's `aud`. */
  readonly resource: string;
  readonly identity: ManagedIdentityDefinition;
  readonly protocol: IdentityProtocol;
  readonly expiresOnSeconds: number;
}

export type TokenIssuedListener = (event: IssuedTokenEvent) => void | Promise<void>;

export interface VerifiedTokenClaims extends JWTPayload {
  iss: string;
  aud: string;
  sub: string;
  iat: number;
  nbf: number;
  exp: number;
  oid: string;
  tid: string;
  appid: string;
  appidacr: string;
  idp: string;
  idtyp: string;
  ver: string;
  uti: string;
  xms_mirid?: string;
}

export interface VerifyTokenExpectations {
  audience: string | string[];
  /** Leeway for `nbf` and `exp`. Default 0. */
  clockToleranceSeconds?: number;
}

export interface ThrottleOptions {
  /** How many token requests to answer 429; default: every one until `clear()`. */
  count?: number;
  /** `Retry-After` in seconds. Default 1 unless `retryAfterDate` is given. */
  retryAfterSeconds?: number;
  /** `Retry-After` as an HTTP-date. */
  retryAfterDate?: Date;
}

export interface IdentityFaults {
  /** Delay before each token answer (faulted answers included). */
  setLatency(milliseconds: number): void;
  throttle(options?: ThrottleOptions): void;
  /** Answer the next `count` token requests (default: all until `clear()`) with `status` and the protocol's error body. */
  failWith(status: number, options?: { count?: number }): void;
  /** Reset every token request's connection without an answer, until `clear()` or `durationMs` passes. */
  outage(options?: { durationMs?: number }): void;
  clear(): void;
}

export interface IdentityCounters {
  /** Every request to a token path, faulted and refused ones included. */
  readonly tokenRequests: number;
  readonly tokensIssued: number;
  /** Token requests whose connection an outage reset. */
  readonly refusedConnections: number;
  /** Token requests naming this resource (exact string), faulted ones included. */
  byResource(resource: string): number;
  /** Token answers with this status. */
  byStatus(status: number): number;
  reset(): void;
}

export interface IdentityEndpoint {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly tenantId: string;
  /** `https://sts.windows.net/<tenant>/` */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly systemAssigned?: SystemAssignedIdentityDefinition;
  readonly userAssigned: readonly ManagedIdentityDefinition[];
  /** `{ IDENTITY_ENDPOINT, IDENTITY_HEADER }` */
  appServiceEnvironment(): Record<string, string>;
  /** `{ AZURE_POD_IDENTITY_AUTHORITY_HOST }` */
  imdsEnvironment(): Record<string, string>;
  jwks(): { keys: JWK[] };
  /** Throws `TokenVerificationError` naming the failed check. */
  verifyToken(token: string, expected: VerifyTokenExpectations): Promise<VerifiedTokenClaims>;
  setTokenLifetime(seconds: number): void;
  addUserAssignedIdentity(definition: ManagedIdentityDefinition): void;
  readonly faults: IdentityFaults;
  readonly counters: IdentityCounters;
  issuedTokens(): readonly string[];
  /** Listeners are awaited before the token is sent, so a consumer can accept it before the client uses it. */
  onTokenIssued(listener: TokenIssuedListener): () => void;
  stop(): Promise<void>;
}
