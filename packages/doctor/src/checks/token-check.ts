import type { TokenProvider } from '@keyless/core';
import { decodeJwt } from 'jose';
import type { TokenClaimsReport, TokenReport } from '../doctor-report.js';
import { describeError } from '../error-description.js';
import { type FixContext, tokenFailure } from '../failure-fixes.js';
import { withTimeout } from '../with-timeout.js';

/**
 * A token for `scope` through core's provider (the same cache and backend the connectors use):
 * its latency, expiry and the claims that help to diagnose. The token is decoded, not verified
 * (the doctor is not its audience) and never kept, printed or returned.
 */
export async function checkToken(
  provider: TokenProvider,
  scope: string,
  context: FixContext,
  options: { timeoutMs: number },
): Promise<TokenReport> {
  const started = performance.now();
  try {
    const token = await withTimeout(
      (abortSignal) => provider.getToken(scope, { abortSignal }),
      options.timeoutMs,
      `a token for ${scope}`,
    );
    const latencyMs = Math.round(performance.now() - started);
    return {
      scope,
      status: 'pass',
      latencyMs,
      expiresOn: new Date(token.expiresOnTimestamp).toISOString(),
      claims: claimsOf(token.token),
    };
  } catch (error) {
    return {
      scope,
      status: 'fail',
      latencyMs: Math.round(performance.now() - started),
      failure: tokenFailure(describeError(error), context, scope),
    };
  }
}

function claimsOf(token: string): TokenClaimsReport {
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(token);
  } catch {
    // Not a JWT (some clouds hand out opaque tokens): nothing to show, nothing wrong.
    return {};
  }
  const claims: TokenClaimsReport = {};
  for (const name of ['oid', 'tid', 'appid', 'xms_mirid'] as const) {
    if (typeof payload[name] === 'string') claims[name] = payload[name] as string;
  }
  if (typeof payload.aud === 'string') claims.aud = payload.aud;
  else if (Array.isArray(payload.aud)) claims.aud = payload.aud.join(' ');
  for (const name of ['iat', 'exp'] as const) {
    if (typeof payload[name] === 'number') claims[name] = payload[name] as number;
  }
  return claims;
}
