import { createTokenProvider, type Environment, type TokenProvider } from '@keyless/core';
import { type PlannedCheck, planChecks } from './check-plan.js';
import { checkClock } from './checks/clock-skew.js';
import { checkToken } from './checks/token-check.js';
import {
  type DoctorConfiguration,
  type DoctorOptionsFile,
  readOptionsFile,
  resolveDoctorConfiguration,
} from './doctor-configuration.js';
import type {
  DoctorFailure,
  DoctorReport,
  DoctorStatus,
  HostReport,
  IdentityReport,
  ResourceReport,
  TokenReport,
} from './doctor-report.js';
import { describeError } from './error-description.js';
import { type FixContext, identityNameOf } from './failure-fixes.js';
import { detectHost } from './host-detection.js';

/** Options of `runDoctor()`; every one has a default. */
export interface DoctorOptions {
  /** A JSON options file (what `--config` names); its members win over the environment. */
  configFile?: string;
  /** The same, as an object; wins over `configFile`. */
  options?: DoctorOptionsFile;
  /** Where the `KEYLESS_*` and Azure variables are read. Default `process.env`. */
  environment?: Environment;
  /** How long each token request, probe and clock check may take, in milliseconds. Default 15 000. */
  timeoutMs?: number;
  /** This machine's clock, compared with the servers' `Date` headers. Default `Date.now`. */
  now?: () => number;
}

export const defaultTimeoutMs = 15_000;

/**
 * Checks what the configuration names: the host and its identity, a token per resource, a
 * read-only probe through each resource's connector, and the clock. Resolves with the report
 * (never rejects for a failed check: failures are in the report, each with its cause and fix) once
 * everything it opened is closed.
 */
export function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  return runDoctorWithInternals(options, {});
}

/** Test seams of the doctor; not exported from the package root. */
export interface DoctorInternals {
  /**
   * Where the IMDS instance document is asked for when no identity variable is set. Tests point it
   * at a closed port: on an Azure VM (a CI runner, say) the real one answers.
   */
  imdsUrl?: string;
}

/** `runDoctor` with test seams. */
export async function runDoctorWithInternals(
  options: DoctorOptions,
  internals: DoctorInternals,
): Promise<DoctorReport> {
  const environment = options.environment ?? process.env;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const checkedAt = new Date(now()).toISOString();

  let configuration: DoctorConfiguration;
  try {
    const file = options.options ?? (options.configFile ? await readOptionsFile(options.configFile) : {});
    configuration = resolveDoctorConfiguration(file, environment);
  } catch (error) {
    return configurationOnly(checkedAt, error);
  }

  const developerCredential = /^(true|1|yes)$/i.test(environment.KEYLESS_DEVELOPER_CREDENTIAL ?? '');
  const detected = await detectHost(environment, {
    developerCredential,
    imdsTimeoutMs: Math.min(2_000, timeoutMs),
    ...(internals.imdsUrl ? { imdsUrl: internals.imdsUrl } : {}),
  });
  const identity: IdentityReport = {
    backend: configuration.backend.value,
    backendFrom: configuration.backend.from,
    selector: selectorOf(configuration.identity.value),
    selectorFrom: configuration.identity.from,
  };
  const problems: DoctorFailure[] = [];
  const plan = planChecks(configuration, problems);
  if (plan.length === 0 && problems.length === 0) {
    problems.push({
      code: 'configuration',
      cause: 'no resource is configured: nothing to check beyond the host',
      fix: [
        'set the variables your app uses (KEYLESS_KEYVAULT_URL, KEYLESS_BLOB_ACCOUNT_URL, KEYLESS_SQL_SERVER, KEYLESS_POSTGRES_HOST, KEYLESS_REDIS_HOST, …) or pass --config <file>',
      ],
      notes: [],
    });
  }

  let provider: TokenProvider | undefined;
  try {
    provider = createTokenProvider({
      backend: configuration.backend.value,
      ...(configuration.identity.fromFile ? { identity: configuration.identity.value } : {}),
      ...(developerCredential ? { developerCredential } : {}),
      // One attempt per request: the doctor reports a failure, it does not ride it out.
      maxColdAttempts: 1,
      environment,
    });
  } catch (error) {
    const described = describeError(error);
    problems.push({
      code: described.code,
      cause: described.message,
      fix: described.hint ? [described.hint] : [],
      notes: [],
    });
  }

  try {
    const clockChecks = clockSources(detected.clockUrl, configuration).map(([source, url]) =>
      checkClock(source, url, { now, timeoutMs }),
    );
    const resources = await Promise.all(
      plan.map((check) => runCheck(check, { provider, host: detected.report, identity, timeoutMs })),
    );
    const clock = await Promise.all(clockChecks);
    const claims = resources.map((each) => each.token.claims).find((each) => each?.oid !== undefined);
    if (claims) {
      if (claims.oid) identity.objectId = claims.oid;
      if (claims.tid) identity.tenantId = claims.tid;
      if (claims.appid) identity.appId = claims.appid;
      if (claims.xms_mirid) identity.resourceId = claims.xms_mirid;
    }
    const statuses: DoctorStatus[] = [
      detected.report.status,
      ...clock.map((each) => each.status),
      ...resources.map((each) => each.status),
    ];
    return {
      ok: problems.length === 0 && !statuses.includes('fail'),
      checkedAt,
      host: detected.report,
      identity,
      clock,
      resources,
      configuration: problems,
    };
  } finally {
    await provider?.close();
  }
}

async function runCheck(
  check: PlannedCheck,
  context: {
    provider: TokenProvider | undefined;
    host: HostReport;
    identity: IdentityReport;
    timeoutMs: number;
  },
): Promise<ResourceReport> {
  const base = {
    resource: check.resource,
    ...(check.mode ? { mode: check.mode } : {}),
    target: check.target,
  };
  const fixContext: FixContext = {
    resource: check.resource,
    objectId: undefined,
    identityName: undefined,
    target: check.fixTarget,
    ...(check.mode ? { mode: check.mode } : {}),
    selector: context.identity.selector,
  };
  const skipped = (why: string): ResourceReport => ({
    ...base,
    status: 'skip',
    token: { scope: check.scope, status: 'skip' },
    probe: {
      operation: check.operation,
      status: 'skip',
      failure: { code: 'skipped', cause: why, fix: [], notes: [] },
    },
  });
  // Without an identity endpoint there is no token to ask for: the host's failure says what to set.
  if (context.host.kind === 'none') return skipped('no managed identity on this host (see host)');
  if (!context.provider) return skipped('the token provider could not be created (see configuration)');
  const token: TokenReport = await checkToken(context.provider, check.scope, fixContext, {
    timeoutMs: context.timeoutMs,
  });
  if (token.status !== 'pass') {
    return {
      ...base,
      status: 'fail',
      token,
      probe: {
        operation: check.operation,
        status: 'skip',
        failure: { code: 'skipped', cause: 'no token for its scope (see token)', fix: [], notes: [] },
      },
    };
  }
  fixContext.objectId = token.claims?.oid;
  fixContext.identityName = identityNameOf(token.claims?.xms_mirid);
  const probe = await check.probe({
    provider: context.provider,
    timeoutMs: context.timeoutMs,
    context: fixContext,
  });
  return { ...base, status: probe.status === 'pass' ? 'pass' : probe.status, token, probe };
}

/** The identity endpoint, and every configured service that speaks HTTP (they answer without a token, with a `Date`). */
function clockSources(
  identityUrl: string | undefined,
  configuration: DoctorConfiguration,
): Array<[string, string]> {
  const sources: Array<[string, string]> = [];
  if (identityUrl) sources.push(['identity endpoint', identityUrl]);
  if (configuration.keyVault) sources.push(['Key Vault', configuration.keyVault.vaultUrl]);
  if (configuration.blob) sources.push(['Blob Storage', configuration.blob.accountUrl]);
  return sources;
}

function selectorOf(identity: DoctorConfiguration['identity']['value']): string {
  if (identity === 'system-assigned') return 'system-assigned';
  if ('clientId' in identity) return `user-assigned client-id ${identity.clientId}`;
  if ('resourceId' in identity) return `user-assigned resource-id ${identity.resourceId}`;
  return `user-assigned object-id ${identity.objectId}`;
}

/** The report of a run that stopped at its configuration (an unreadable options file, a bad value). */
function configurationOnly(checkedAt: string, error: unknown): DoctorReport {
  const described = describeError(error);
  return {
    ok: false,
    checkedAt,
    host: {
      kind: 'none',
      description: 'not checked: the configuration is invalid',
      variables: [],
      status: 'skip',
    },
    identity: { backend: 'unknown', backendFrom: 'unknown', selector: 'unknown', selectorFrom: 'unknown' },
    clock: [],
    resources: [],
    configuration: [
      {
        code: described.code,
        cause: described.message,
        fix: described.hint ? [described.hint] : [],
        notes: [],
      },
    ],
  };
}
