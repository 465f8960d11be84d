/**
 * The doctor's report: what `keyless doctor --json` prints and `runDoctor()` resolves with. Ids,
 * names, claims and timings only — never a token, a secret value or a password.
 */

/** `pass` works; `warn` works but needs a look; `fail` does not work; `skip` was not checked. */
export type DoctorStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** How the process finds its managed identity. */
export type HostKind =
  | 'app-service'
  | 'aks-workload-identity'
  | 'imds'
  | 'azure-arc'
  | 'developer-credential'
  | 'none';

/** The resources the doctor knows how to probe. */
export type DoctorResourceKind = 'keyvault' | 'blob' | 'sql' | 'postgres' | 'redis';

/** What went wrong, why, and what to run or set to fix it. */
export interface DoctorFailure {
  /** keyless's error code (`authorization`, `credential-unavailable`, …) or the doctor's own (`timeout`, `missing-connector`). */
  code: string;
  /** What failed, as the service or endpoint said it (scrubbed of anything token-shaped). */
  cause: string;
  /** Commands to run or variables to set, in order; ready to paste where every value is known. */
  fix: string[];
  /** Anything else worth knowing (role propagation, the connector's own hint). */
  notes: string[];
}

/** How the process finds its managed identity, and what led the doctor there. */
export interface HostReport {
  kind: HostKind;
  /** In words: "App Service, Functions or Container Apps (identity endpoint …)". */
  description: string;
  /** The variables (names only) that led to this verdict. */
  variables: string[];
  status: DoctorStatus;
  failure?: DoctorFailure;
}

/** The token backend and the identity the process asks tokens for, with the ids its tokens name. */
export interface IdentityReport {
  /** `azure-identity` or `msal`. */
  backend: string;
  /** Where the backend came from: the options file, `KEYLESS_TOKEN_PROVIDER`, or the default. */
  backendFrom: string;
  /** `system-assigned`, or `user-assigned client-id <id>` / `resource-id` / `object-id`. */
  selector: string;
  /** Where the selector came from: the options file, a variable, or the default. */
  selectorFrom: string;
  /** From the first token's claims: the identity's object (principal) id, tenant, app id and resource id. */
  objectId?: string;
  tenantId?: string;
  appId?: string;
  resourceId?: string;
}

/** The claims of a token that help to diagnose (the token itself is never kept). */
export interface TokenClaimsReport {
  oid?: string;
  tid?: string;
  aud?: string;
  appid?: string;
  xms_mirid?: string;
  iat?: number;
  exp?: number;
}

/** A token for one resource's scope: how long it took, when it expires, and its diagnostic claims. */
export interface TokenReport {
  scope: string;
  status: DoctorStatus;
  latencyMs?: number;
  /** ISO time the token expires. */
  expiresOn?: string;
  claims?: TokenClaimsReport;
  failure?: DoctorFailure;
}

/** One read-only request through the resource's connector. */
export interface ProbeReport {
  /** The read-only operation, e.g. `SELECT 1` or `Get Container Properties keyless-demo`. */
  operation: string;
  status: DoctorStatus;
  latencyMs?: number;
  failure?: DoctorFailure;
}

/** One configured resource (PostgreSQL and Redis: one per credential mode): its token and its probe. */
export interface ResourceReport {
  resource: DoctorResourceKind;
  /** `entra-token` or `key-vault-secret` for PostgreSQL and Redis. */
  mode?: 'entra-token' | 'key-vault-secret';
  /** Where it is: a URL or host:port/database (no credentials). */
  target: string;
  status: DoctorStatus;
  token: TokenReport;
  probe: ProbeReport;
}

/** This machine's clock against one server's `Date` header. */
export interface ClockReport {
  /** `identity endpoint`, `Key Vault`, `Blob Storage`, … */
  source: string;
  url: string;
  status: DoctorStatus;
  /** The server's clock minus this machine's, in seconds (positive: this machine is behind). */
  skewSeconds?: number;
  failure?: DoctorFailure;
}

/** Everything `runDoctor()` found: `ok` is true, and the exit code 0, exactly when nothing failed. */
export interface DoctorReport {
  /** True when nothing failed: the exit code is 0 exactly then. */
  ok: boolean;
  /** When the check ran (this machine's clock). */
  checkedAt: string;
  host: HostReport;
  identity: IdentityReport;
  clock: ClockReport[];
  resources: ResourceReport[];
  /** Configuration problems found before any request (a bad options file, a half-configured resource). */
  configuration: DoctorFailure[];
}
