import type { Clock } from '@keyless/core/internal';
import { sendWithDefaultRetries } from './azure-retry-policy.js';
import type { AccessTokenGetter } from './raw-token-cycler.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimulatedVault } from './simulated-vault.js';

export const vaultScope = 'https://vault.azure.net/.default';

/**
 * `new SecretClient(vaultUrl, credential).getSecret(name)` with the SDK's defaults: the retry policy
 * (three retries; a 429 with Retry-After waits as told) around the bearer-token policy (its own
 * token cycler). Key Vault's first unauthenticated challenge request per client is left out here
 * and on the keyless side alike.
 */
export class RawSecretClient {
  readonly #bearerToken: AccessTokenGetter;
  readonly #vault: SimulatedVault;
  readonly #clock: Clock;
  readonly #random: SeededRandom;

  constructor(bearerToken: AccessTokenGetter, vault: SimulatedVault, clock: Clock, random: SeededRandom) {
    this.#bearerToken = bearerToken;
    this.#vault = vault;
    this.#clock = clock;
    this.#random = random;
  }

  async getSecret(name: string): Promise<string> {
    const answer = await sendWithDefaultRetries(
      () => this.#bearerToken(vaultScope).then(() => this.#vault.get(name)),
      this.#clock,
      this.#random,
    );
    if (answer.status === 200 && answer.value !== undefined) return answer.value;
    throw new Error(`SecretClient.getSecret: Key Vault answered ${answer.status}`);
  }
}
