import type { Clock } from '@keyless/core/internal';
import type { SeededRandom } from './seeded-random.js';

/** The part of an HTTP answer the Azure SDK's retry strategies look at. */
export interface HttpAnswer {
  status: number;
  retryAfter?: string;
}

/**
 * `calculateRetryDelay` of @azure/core-util: the base doubles per retry up to the cap; the delay is
 * half of that step plus a random part of up to the other half.
 */
export function calculateRetryDelay(
  retryCount: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: SeededRandom,
): number {
  const clamped = Math.min(maxDelayMs, baseDelayMs * 2 ** retryCount);
  return clamped / 2 + Math.floor(random.uniform(0, clamped / 2 + 1));
}

/**
 * `defaultRetryPolicy` of @azure/core-rest-pipeline (its throttling and exponential strategies),
 * three retries by default: a 429 or 503 that carries Retry-After waits that long; 408 and 5xx
 * other than 501/505 back off exponentially from 1 s; anything else (a 429 without Retry-After
 * included) is returned as it is.
 */
export async function sendWithDefaultRetries<Answer extends HttpAnswer>(
  send: () => Promise<Answer>,
  clock: Clock,
  random: SeededRandom,
  maxRetries = 3,
): Promise<Answer> {
  for (let retryCount = 0; ; retryCount += 1) {
    const answer = await send();
    if (retryCount >= maxRetries) return answer;
    const retryAfterSeconds = Number(answer.retryAfter);
    if (
      (answer.status === 429 || answer.status === 503) &&
      answer.retryAfter !== undefined &&
      Number.isFinite(retryAfterSeconds)
    ) {
      await clock.sleep(retryAfterSeconds * 1000);
      continue;
    }
    const exponential =
      (answer.status >= 500 || answer.status === 408) && answer.status !== 501 && answer.status !== 505;
    if (!exponential) return answer;
    await clock.sleep(calculateRetryDelay(retryCount, 1000, 64_000, random));
  }
}

/**
 * The pipeline ManagedIdentityCredential sends IMDS requests through: `imdsRetryPolicy` (per call:
 * 404 and 410 retried 5 times from 800 ms, from 3 s for 410 so the retries span IMDS's 70-second
 * upgrade) around the default policy above.
 */
export async function sendThroughImdsPipeline<Answer extends HttpAnswer>(
  send: () => Promise<Answer>,
  clock: Clock,
  random: SeededRandom,
): Promise<Answer> {
  const maxRetries = 5;
  for (let retryCount = 0; ; retryCount += 1) {
    const answer = await sendWithDefaultRetries(send, clock, random);
    if (retryCount >= maxRetries || (answer.status !== 404 && answer.status !== 410)) return answer;
    const baseDelayMs = answer.status === 410 ? 3000 : 800;
    await clock.sleep(calculateRetryDelay(retryCount, baseDelayMs, 64_000, random));
  }
}
