import type { Expectation, FaultScenario } from './fault-scenario.ts';
import type { LoadPhase, OperationOutcome } from './load-generator.ts';
import type { TokenEventRecord } from './token-timeline.ts';

export interface FailureRecord {
  backend: string;
  kind: string;
  phase: LoadPhase;
  code: string;
  typed: boolean;
  durationMs: number;
  message: string;
}

export interface ScenarioResult {
  name: string;
  expectation: Expectation;
  description: string;
  backends: readonly string[];
  tokenLifetimeSeconds: number;
  operationTimeoutMs: number;
  attempted: number;
  failed: number;
  /** `code` → how many, over every lane. */
  failureCodes: Record<string, number>;
  /** `backend/kind` → attempted, succeeded and failed. */
  lanes: Record<string, { attempted: number; succeeded: number; failed: number }>;
  failures: FailureRecord[];
  /** Failures of operations started after the fault ended. */
  failedAfterRecovery: number;
  /** Failures that were not a keyless error, or came only when the operation timed out. */
  untypedOrLate: number;
  requests: {
    identity: number;
    keyVault: number;
    identityDuringFault: number;
    keyVaultDuringFault: number;
    sqlLoginsDuringFault: number;
  };
  timing: { warmUpMs: number; faultMs: number; recoveryMs: number };
  evidence: Record<string, number>;
  tokenEvents: Record<TokenEventRecord['type'], number>;
  /** Every (backend, scope) that had a token during the scenario. */
  tokenScopes: string[];
  /** Every token event, `at` in milliseconds since the fault started (negative: warm-up). */
  tokenEventLog: TokenEventRecord[];
  verdict: 'pass' | 'FAIL';
  verdictReason: string;
}

export interface SummaryInput {
  scenario: FaultScenario;
  backends: readonly string[];
  operationTimeoutMs: number;
  outcomes: readonly OperationOutcome[];
  evidence: Record<string, number>;
  tokenEvents: readonly TokenEventRecord[];
  requests: ScenarioResult['requests'];
  timing: ScenarioResult['timing'];
  faultStartedAt: number;
}

export function summarize(input: SummaryInput): ScenarioResult {
  const lanes: ScenarioResult['lanes'] = {};
  const failureCodes: Record<string, number> = {};
  const failures: FailureRecord[] = [];
  for (const outcome of input.outcomes) {
    const lane = `${outcome.backend}/${outcome.kind}`;
    lanes[lane] ??= { attempted: 0, succeeded: 0, failed: 0 };
    lanes[lane].attempted += 1;
    if (!outcome.failure) {
      lanes[lane].succeeded += 1;
      continue;
    }
    lanes[lane].failed += 1;
    failureCodes[outcome.failure.code] = (failureCodes[outcome.failure.code] ?? 0) + 1;
    failures.push({
      backend: outcome.backend,
      kind: outcome.kind,
      phase: outcome.phase,
      code: outcome.failure.code,
      typed: outcome.failure.typed,
      durationMs: outcome.durationMs,
      message: outcome.failure.message,
    });
  }
  const failedAfterRecovery = failures.filter((failure) => failure.phase === 'recovery').length;
  const untypedOrLate = failures.filter(
    (failure) => !failure.typed || failure.durationMs >= input.operationTimeoutMs,
  ).length;
  const tokenEvents = { acquired: 0, refreshed: 0, 'refresh-failed': 0, throttled: 0 };
  for (const event of input.tokenEvents) tokenEvents[event.type] += 1;
  const { verdict, verdictReason } = judge(
    input.scenario.expectation,
    failures.length,
    failedAfterRecovery,
    untypedOrLate,
  );
  return {
    name: input.scenario.name,
    expectation: input.scenario.expectation,
    description: input.scenario.description,
    backends: input.backends,
    tokenLifetimeSeconds: input.scenario.tokenLifetimeSeconds,
    operationTimeoutMs: input.operationTimeoutMs,
    attempted: input.outcomes.length,
    failed: failures.length,
    failureCodes,
    lanes,
    failures,
    failedAfterRecovery,
    untypedOrLate,
    requests: input.requests,
    timing: input.timing,
    evidence: input.evidence,
    tokenEvents,
    tokenScopes: [...new Set(input.tokenEvents.map((event) => `${event.backend} ${event.scope}`))].sort(),
    tokenEventLog: input.tokenEvents.map((event) => ({ ...event, at: event.at - input.faultStartedAt })),
    verdict,
    verdictReason,
  };
}

function judge(
  expectation: Expectation,
  failed: number,
  failedAfterRecovery: number,
  untypedOrLate: number,
): { verdict: 'pass' | 'FAIL'; verdictReason: string } {
  if (expectation === 'zero failures') {
    return failed === 0
      ? { verdict: 'pass', verdictReason: 'no operation failed' }
      : { verdict: 'FAIL', verdictReason: `${failed} operations failed` };
  }
  if (untypedOrLate > 0)
    return { verdict: 'FAIL', verdictReason: `${untypedOrLate} failures untyped or past the timeout` };
  if (failedAfterRecovery > 0)
    return { verdict: 'FAIL', verdictReason: `${failedAfterRecovery} failures after recovery` };
  return {
    verdict: 'pass',
    verdictReason: failed === 0 ? 'no operation failed' : 'every failure typed and in time; recovered',
  };
}
