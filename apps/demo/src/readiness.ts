import type { CardName } from './cards.js';
import { cardNames } from './cards.js';
import type { ResourceConfig } from './config.js';
import type { ConnectorSet } from './connectors.js';
import { DemoError, describeError } from './errors.js';

/**
 * One card's answer to the readiness probe: when not ready, the error's code, its message (scrubbed
 * by describeError) and the hint that says what to do — never a token or a secret.
 */
export interface CardReadiness {
  name: CardName;
  ready: boolean;
  code?: string;
  message?: string;
  hint?: string;
}

/** What `/readyz` needs to know about the app: the current connectors, and each card's token scope. */
export interface ReadinessInput {
  connectors: ConnectorSet;
  resources: ResourceConfig;
  scopes: Record<CardName, string>;
  /** A probe must answer before the platform gives up on it (Kubernetes' default is 1 s, ours 5 s). */
  timeoutMs: number;
}

const fallbackHint =
  'open the dashboard\'s doctor panel (or run "pnpm keyless doctor") for the cause and fix';

/**
 * Each card's readiness: its token through `provider.warmUp()`, then its connector's `ready()` —
 * the first call logs in / reads the secret, later ones check caches only (docs/readiness.md), so a
 * probe every few seconds does not load the services. All cards at once; each bounded by the timeout.
 */
export async function checkReadiness(input: ReadinessInput): Promise<CardReadiness[]> {
  const { connectors, resources } = input;
  const checks: Record<CardName, () => Promise<void>> = {
    blob: () => connectors.blob.ready({ container: resources.blob.container }),
    keyvault: () => connectors.keyVault.ready({ secrets: [resources.keyVault.secretName] }),
    sql: () => connectors.sql.ready(),
    postgres: () => connectors.postgres.ready(),
    redis: () => connectors.redis.ready(),
  };
  return Promise.all(
    cardNames.map(async (name): Promise<CardReadiness> => {
      try {
        await withTimeout(
          (async () => {
            await connectors.tokenProvider.warmUp(input.scopes[name]);
            await checks[name]();
          })(),
          input.timeoutMs,
          name,
        );
        return { name, ready: true };
      } catch (error) {
        const described = describeError(error);
        return {
          name,
          ready: false,
          code: described.code,
          message: described.message,
          hint: described.hint ?? fallbackHint,
        };
      }
    }),
  );
}

function withTimeout(work: Promise<void>, timeoutMs: number, card: CardName): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DemoError(
            'timeout',
            503,
            `the ${card} readiness check took longer than ${timeoutMs} ms`,
            `the ${card} service or the identity endpoint is slow or unreachable: ${fallbackHint}`,
          ),
        ),
      timeoutMs,
    );
  });
  // The check goes on after a timeout (the next probe joins it); its late failure is not unhandled.
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
