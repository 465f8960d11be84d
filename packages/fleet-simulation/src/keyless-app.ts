import type { TokenProvider } from '@keyless/core';
import { createTokenProviderWithInternals } from '@keyless/core/testing';
import type { KeyVaultConnector, SecretSource } from '@keyless/keyvault';
import { renewDelaysMs } from '@keyless/keyvault/internal';
import { createKeyVaultConnectorWithInternals } from '@keyless/keyvault/testing';
import { FailureAccounting } from './failure-accounting.js';
import { type AppSurroundings, type SimulatedApp, scopes, secretNames } from './simulated-app.js';
import { SimulatedTokenBackend } from './simulated-token-backend.js';
import type { VaultAnswer } from './simulated-vault.js';
import type { WorkloadStep } from './workload.js';

const vaultUrl = 'https://fleet-simulation.vault.azure.net';
/** packages/redis: a refused handshake is retried with backoff from 1 s. */
const redisRecoveryDelayMs = 1000;

/**
 * One process composed as apps/demo/src/connectors.ts does: ONE real TokenProvider (keyless's
 * token cache, single flight, background refresh, backoff) and ONE real Key Vault connector whose
 * real secret sources hold the app setting and the two passwords. Only the network is simulated:
 * the provider's backend asks the VM's IMDS, and the connector's getSecret hook (@keyless/keyvault/testing) asks the vault
 * after taking a vault token from the provider, as SecretClient's bearer policy would. The
 * PostgreSQL and Redis glue mirrors what @keyless/postgres and @keyless/redis do with a secret.
 */
export class KeylessApp implements SimulatedApp {
  readonly #surroundings: AppSurroundings;
  readonly #provider: TokenProvider;
  readonly #keyVault: KeyVaultConnector;
  readonly #appSetting: SecretSource;
  readonly #postgresPassword: SecretSource;
  readonly #redisPassword: SecretSource;
  readonly #accounting: FailureAccounting;
  #redisCredential: string | undefined;
  #redisRecovering = false;
  #stopped = false;

  constructor(surroundings: AppSurroundings) {
    this.#surroundings = surroundings;
    const { clock, imds, random } = surroundings;
    this.#accounting = new FailureAccounting(clock, surroundings.workload, surroundings.failures);
    this.#provider = createTokenProviderWithInternals(
      { backend: 'msal', identity: 'system-assigned', environment: {} },
      { clock, backend: new SimulatedTokenBackend(imds, clock), random: random.next },
    );
    this.#keyVault = createKeyVaultConnectorWithInternals(
      { vaultUrl, tokenProvider: this.#provider },
      { clock, random: random.next, getSecret: (name) => this.#getSecret(name) },
    );
    this.#appSetting = this.#keyVault.secret(secretNames.appSetting);
    this.#postgresPassword = this.#keyVault.secret(secretNames.postgresPassword);
    this.#redisPassword = this.#keyVault.secret(secretNames.redisPassword);
  }

  async start(): Promise<void> {
    const [, redisPassword] = await Promise.all([this.#appSetting.get(), this.#redisPassword.get()]);
    this.#redisCredential = redisPassword;
    // @keyless/redis: a new secret version found by a background refresh is used from then on.
    this.#redisPassword.on('change', () => {
      this.#redisPassword.get().then(
        (value) => {
          this.#redisCredential = value;
        },
        () => {},
      );
    });
    this.reconnectRedis();
  }

  readonly #blobCall = () => this.#provider.getToken(scopes.storage);
  readonly #keyVaultCall = () => this.#appSetting.get();

  serve(step: WorkloadStep): void {
    const accounting = this.#accounting;
    accounting.use('blob', this.#blobCall);
    accounting.use('keyVault', this.#keyVaultCall);
    // The connections a step opens ask at the same instant, so one call stands for all of them:
    // the provider and the secret source hand every caller the same promise.
    const { newSqlConnections, newPostgresConnections } = step;
    if (newSqlConnections > 0) {
      // tedious's token-credential authentication asks the provider once per new connection.
      this.#provider.getToken(scopes.database).catch(() => {
        for (let index = 0; index < newSqlConnections; index += 1) accounting.connectionFailed('sql');
      });
    }
    if (newPostgresConnections > 0) {
      this.#postgresPassword.get().then(
        (password) => {
          if (password === this.#surroundings.servers.postgres) return;
          for (let index = 0; index < newPostgresConnections; index += 1) {
            this.#retryPostgresConnect(password).catch(() => accounting.connectionFailed('postgres'));
          }
        },
        () => {
          for (let index = 0; index < newPostgresConnections; index += 1)
            accounting.connectionFailed('postgres');
        },
      );
    }
  }

  reconnectRedis(): void {
    if (this.#stopped || this.#redisCredential === undefined) return;
    if (this.#redisCredential === this.#surroundings.servers.redis) {
      this.#accounting.redisAccepted();
      return;
    }
    // WRONGPASS: @keyless/redis reads the secret afresh and reconnects, keeping queued commands.
    this.#accounting.redisRefused();
    if (this.#redisRecovering) return;
    this.#redisRecovering = true;
    this.#redisPassword.invalidate();
    const retry = () => {
      this.#redisRecovering = false;
      this.#surroundings.clock.setTimer(() => this.reconnectRedis(), redisRecoveryDelayMs);
    };
    this.#redisPassword.get().then((value) => {
      this.#redisCredential = value;
      if (value !== this.#surroundings.servers.redis) return retry();
      this.#redisRecovering = false;
      this.#accounting.redisAccepted();
    }, retry);
  }

  async stop(): Promise<void> {
    this.#accounting.stop();
    this.#stopped = true;
    await this.#keyVault.close();
    await this.#provider.close();
    this.#surroundings.clock.stop();
  }

  /** 28P01 with `refused`: @keyless/postgres renews the secret and retries the connect once. */
  async #retryPostgresConnect(refused: string): Promise<void> {
    await this.#renewPostgresPassword(refused);
    const fresh = await this.#postgresPassword.get();
    if (fresh !== this.#surroundings.servers.postgres)
      throw new Error('28P01: password authentication failed');
  }

  async #renewPostgresPassword(refused: string): Promise<void> {
    const source = this.#postgresPassword;
    const cached = await source.get().catch(() => undefined);
    if (cached !== undefined && cached !== refused) return;
    source.invalidate();
    // The waits of the password binding both connectors use (@keyless/keyvault/internal).
    for (const delayMs of renewDelaysMs) {
      const fresh = await source.get();
      if (fresh !== refused) return;
      await this.#surroundings.clock.sleep(delayMs);
      source.invalidate();
    }
  }

  #getSecret(name: string) {
    // One chain, not two awaits: this runs 1.7 million times in a 48-hour fleet run.
    return this.#provider.getToken(scopes.vault).then(() => {
      const answer = this.#surroundings.vault.get(name);
      if (answer.status === 200) return { value: answer.value, properties: { version: answer.version } };
      throw restError(answer);
    });
  }
}

/** What SecretClient throws for an error answer, as far as keyless's error mapping reads it. */
function restError(answer: VaultAnswer): Error {
  return Object.assign(new Error(`Key Vault answered ${answer.status}`), {
    name: 'RestError',
    statusCode: answer.status,
    response: {
      headers: {
        get: (header: string) => (header.toLowerCase() === 'retry-after' ? answer.retryAfter : undefined),
      },
    },
  });
}
