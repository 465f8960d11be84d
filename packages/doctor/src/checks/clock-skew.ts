import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ClockReport } from '../doctor-report.js';

/**
 * Tokens carry `nbf` and `exp`, and Azure's services accept 5 minutes of clock skew (Key Vault,
 * Storage, Entra: "ClockSkew" 5 min in Microsoft.IdentityModel's validation). Beyond a minute a
 * clock is already drifting; beyond five, tokens start to look expired or not yet valid.
 */
export const warnSkewSeconds = 60;
export const failSkewSeconds = 300;

/**
 * This machine's clock against a server's `Date` header (RFC 9110: the time the answer was made,
 * whole seconds). The request is unauthenticated and carries no token: the identity endpoint and
 * the services all answer it (with 400 or 401), and every answer has a `Date`. The server's time is
 * compared with the middle of the round trip; half a second is added for the header's truncation.
 */
export async function checkClock(
  source: string,
  url: string,
  options: { now: () => number; timeoutMs: number },
): Promise<ClockReport> {
  let sent = 0;
  let received = 0;
  let date: string | undefined;
  try {
    sent = options.now();
    date = await dateHeaderOf(url, options.timeoutMs);
    received = options.now();
  } catch (error) {
    return {
      source,
      url,
      status: 'skip',
      failure: {
        code: 'unavailable',
        cause: `no answer to compare clocks with: ${error instanceof Error ? error.message : String(error)}`,
        fix: [],
        notes: [],
      },
    };
  }
  const serverTime = date === undefined ? Number.NaN : Date.parse(date);
  if (Number.isNaN(serverTime)) {
    return {
      source,
      url,
      status: 'skip',
      failure: {
        code: 'invalid-response',
        cause: 'the answer has no usable Date header',
        fix: [],
        notes: [],
      },
    };
  }
  const skewSeconds = Math.round((serverTime + 500 - (sent + received) / 2) / 100) / 10;
  const size = Math.abs(skewSeconds);
  if (size <= warnSkewSeconds) return { source, url, status: 'pass', skewSeconds };
  const direction = skewSeconds > 0 ? 'behind' : 'ahead of';
  return {
    source,
    url,
    status: size > failSkewSeconds ? 'fail' : 'warn',
    skewSeconds,
    failure: {
      code: 'clock-skew',
      cause: `this machine's clock is ${size} s ${direction} ${source}'s (warn over ${warnSkewSeconds} s, fail over ${failSkewSeconds} s: Azure accepts tokens within 5 minutes of skew)`,
      fix: [
        "synchronise the clock with NTP: timedatectl set-ntp true (systemd), or check chronyd / w32time; in a container the host's clock is the one to fix",
      ],
      notes: [],
    },
  };
}

function dateHeaderOf(url: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const outgoing = request(url, { method: 'GET', timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.headers.date);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}
