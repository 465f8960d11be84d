import type { JWK, JWTPayload } from 'jose';

/** A managed identity the endpoint issues tokens for: its names and ids, as Azure shows them. */
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

/** The system-assigned identity: like a user-assigned one, but without an ARM resource id. */
export type SystemAssignedIdentityDefinition = Omit<ManagedIdentityDefinition, 'resourceId'>;

/**
 * How a token was asked for: the two managed-identity protocols, App Service (`IDENTITY_ENDPOINT`)
 * and IMDS, or AKS workload identity (a federated client assertion at the Entra token endpoint).
 */
export type IdentityProtocol = 'app-service' | 'imds' | 'workload-identity';

/** A federated identity credential on an identity: which external tokens Entra exchanges for its tokens. */
export interface FederatedIdentityCredential {
  /** Unique per identity, as in Azure. */
  name: string;
  /** The OIDC issuer URL, compared exactly (e.g. the cluster issuer, with its trailing slash). */
  issuer: string;
  /** e.g. `system:serviceaccount:<namespace>:<service account>`, compared exactly. */
  subject: string;
  /** Exactly one. Default `['api://AzureADTokenExchange']`. */
  audiences?: string[];
}

/** Options of the workload-identity emulation (`IdentityEndpointOptions.workloadIdentity`). */
export interface WorkloadIdentityOptions {
  /** PEM certificate and key for the Entra endpoint, which is HTTPS as MSAL requires of an authority. */
  tls: { cert: string; key: string };
  /** Where the projected service-account token is written (and rewritten on rotation). */
  tokenFilePath: string;
  /** The pod's namespace. Default `default`. */
  namespace?: string;
  /** The pod's service account. Default `keyless-app`. */
  serviceAccount?: string;
  /**
   * Lifetime of the projected token, seconds. Default 3600, the workload-identity webhook's default
   * `expirationSeconds` (Kubernetes requires at least 600; shorter ones are for tests). The file is
   * rewritten at 80% of it, as the kubelet does.
   */
  serviceAccountTokenLifetimeSeconds?: number;
  /**
   * Federated credentials by identity client id. Default: one on the first user-assigned identity
   * for the cluster issuer, this namespace and service account, and `api://AzureADTokenExchange`.
   */
  federatedCredentials?: Array<FederatedIdentityCredential & { clientId: string }>;
}

/** Options of `workloadIdentity.serviceAccountToken()`: a token as the cluster issuer would sign it. */
export interface ServiceAccountTokenOptions {
  namespace?: string;
  serviceAccount?: string;
  audience?: string | string[];
  lifetimeSeconds?: number;
  /** Default now. */
  issuedAtMilliseconds?: number;
}

/** The emulated AKS side (cluster issuer, projected token file) and the Entra token endpoint. */
export interface WorkloadIdentityEmulation {
  /** `https://127.0.0.1:<port>`: the `AZURE_AUTHORITY_HOST`, serving `/{tenant}/oauth2/v2.0/token` and OIDC discovery. */
  readonly authorityHost: string;
  /** The local cluster's OIDC issuer URL (ends with a slash, like AKS's). */
  readonly clusterIssuer: string;
  /** The projected service-account token file (`AZURE_FEDERATED_TOKEN_FILE`). */
  readonly tokenFilePath: string;
  /** `system:serviceaccount:<namespace>:<service account>` of the token file. */
  readonly subject: string;
  /** How many times the token file was written (rotations plus the first). */
  readonly tokenFileWrites: number;
  /** `{ AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE }`, as the AKS webhook injects them. */
  environment(clientId?: string): Record<string, string>;
  /** Adds a federated credential to the identity with this client id (names unique per identity, at most 20). */
  addFederatedCredential(clientId: string, credential: FederatedIdentityCredential): void;
  /** False when the identity had no credential of that name. */
  removeFederatedCredential(clientId: string, name: string): boolean;
  /** The federated credentials of the identity with this client id. */
  federatedCredentials(clientId: string): readonly FederatedIdentityCredential[];
  /** A service-account token signed by the cluster issuer, for tests (wrong subject, audience, lifetime). */
  serviceAccountToken(options?: ServiceAccountTokenOptions): Promise<string>;
  /** Rewrites the token file now, as the kubelet does at 80% of the token's lifetime. */
  rotateTokenFile(): Promise<void>;
}

/** Options of `startIdentityEndpoint()`; every one has a default. */
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
  /** Also emulate AKS workload identity: a cluster issuer, its projected token file and an Entra token endpoint. */
  workloadIdentity?: WorkloadIdentityOptions;
}

/** One token the endpoint issued, told to `onTokenIssued` listeners before the client receives it. */
export interface IssuedTokenEvent {
  /** Not enumerable: `JSON.stringify` and `util.inspect` of the event never show it. */
  readonly token: string;
  /** The requested resource exactly as sent: the token's `aud`. */
  readonly resource: string;
  /** The identity the token was issued for. */
  readonly identity: ManagedIdentityDefinition;
  /** Which protocol the request came in by. */
  readonly protocol: IdentityProtocol;
  /** The token's `exp`, in Unix seconds. */
  readonly expiresOnSeconds: number;
}

/** Called for each issued token; awaited before the answer is sent. */
export type TokenIssuedListener = (event: IssuedTokenEvent) => void | Promise<void>;

/** The claims of a token that passed `verifyToken`: what Azure puts in a managed-identity token. */
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

/** What `verifyToken` checks beyond signature and issuer. */
export interface VerifyTokenExpectations {
  /** The accepted `aud` value(s): the resource the service expects. */
  audience: string | string[];
  /** Leeway for `nbf` and `exp`. Default 0. */
  clockToleranceSeconds?: number;
}

/** How `faults.throttle()` answers 429. */
export interface ThrottleOptions {
  /** How many token requests to answer 429; default: every one until `clear()`. */
  count?: number;
  /** `Retry-After` in seconds. Default 1 unless `retryAfterDate` is given. */
  retryAfterSeconds?: number;
  /** `Retry-After` as an HTTP-date. */
  retryAfterDate?: Date;
}

/** Fault injection for tests: latency, throttling, error statuses and outages, until `clear()`. */
export interface IdentityFaults {
  /** Delay before each token answer (faulted answers included). */
  setLatency(milliseconds: number): void;
  /** Answer token requests with 429 and `Retry-After`. */
  throttle(options?: ThrottleOptions): void;
  /** Answer the next `count` token requests (default: all until `clear()`) with `status` and the protocol's error body. */
  failWith(status: number, options?: { count?: number }): void;
  /** Reset every token request's connection without an answer, until `clear()` or `durationMs` passes. */
  outage(options?: { durationMs?: number }): void;
  /** Ends every fault: answers are normal again. */
  clear(): void;
}

/** Request counters, for tests that assert how often clients asked. */
export interface IdentityCounters {
  /** Every request to a token path, faulted and refused ones included. */
  readonly tokenRequests: number;
  /** Tokens actually issued (200 answers). */
  readonly tokensIssued: number;
  /** Token requests whose connection an outage reset. */
  readonly refusedConnections: number;
  /** Token requests naming this resource (exact string), faulted ones included. */
  byResource(resource: string): number;
  /** Token answers with this status. */
  byStatus(status: number): number;
  /** Sets every counter back to zero. */
  reset(): void;
}

/** A running local managed-identity endpoint: its address, identities, keys, faults and counters. */
export interface IdentityEndpoint {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** The tenant every token names (`tid`). */
  readonly tenantId: string;
  /** `https://sts.windows.net/<tenant>/` */
  readonly issuer: string;
  /** Where the public signing keys are published (JWKS). */
  readonly jwksUrl: string;
  /** The system-assigned identity, unless it was turned off. */
  readonly systemAssigned?: SystemAssignedIdentityDefinition;
  /** The user-assigned identities, in the order they were added. */
  readonly userAssigned: readonly ManagedIdentityDefinition[];
  /** `{ IDENTITY_ENDPOINT, IDENTITY_HEADER }` */
  appServiceEnvironment(): Record<string, string>;
  /** `{ AZURE_POD_IDENTITY_AUTHORITY_HOST }` */
  imdsEnvironment(): Record<string, string>;
  /** The AKS workload-identity emulation, when `workloadIdentity` was given. */
  readonly workloadIdentity: WorkloadIdentityEmulation | undefined;
  /** The public signing keys, as served at `jwksUrl`. */
  jwks(): { keys: JWK[] };
  /** Throws `TokenVerificationError` naming the failed check. */
  verifyToken(token: string, expected: VerifyTokenExpectations): Promise<VerifiedTokenClaims>;
  /** Changes the lifetime of tokens issued from now on. */
  setTokenLifetime(seconds: number): void;
  /** Adds a user-assigned identity at run time. */
  addUserAssignedIdentity(definition: ManagedIdentityDefinition): void;
  /** Fault injection for the token paths. */
  readonly faults: IdentityFaults;
  /** Counters of token requests and answers. */
  readonly counters: IdentityCounters;
  /** Every token issued so far (service-account tokens included), for canary scans of test output. */
  issuedTokens(): readonly string[];
  /** Listeners are awaited before the token is sent, so a consumer can accept it before the client uses it. */
  onTokenIssued(listener: TokenIssuedListener): () => void;
  /** Closes the server and every connection. */
  stop(): Promise<void>;
}
