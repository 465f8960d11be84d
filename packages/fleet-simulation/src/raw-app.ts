import { FailureAccounting } from './failure-accounting.js';
import { RawManagedIdentityCredential } from './raw-managed-identity-credential.js';
import { RawSecretClient } from './raw-secret-client.js';
import { type AccessTokenGetter, createTokenCycler } from './raw-token-cycler.js';
import { type AppSurroundings, type SimulatedApp, scopes, secretNames } from './simulated-app.js';
import type { WorkloadStep } from './workload.js';

/**
 * The same app written with the raw libraries and the glue most teams write (each choice is
 * sourced in docs/scale.md):
 * - one ManagedIdentityCredential shared by every client (MSAL's token cache is per process
 *   anyway);
 * - BlobServiceClient and one SecretClient, each with the SDK's bearer-token policy (its own token
 *   cycler) and default retry policy;
 * - tedious with token-credential authentication: credential.getToken per new connection;
 * - the app setting read once at start-up;
 * - pg with `password: async () => (await secretClient.getSecret(name)).value`: one Key Vault GET
 *   per new connection;
 * - ioredis given the password read at start-up; it reuses it on every reconnect.
 */
export class RawApp implements SimulatedApp {
  readonly #surroundings: AppSurroundings;
  readonly #credential: RawManagedIdentityCredential;
  readonly #blobToken: AccessTokenGetter;
  readonly #secretClient: RawSecretClient;
  readonly #accounting: FailureAccounting;
  #redisPassword: string | undefined;
  #stopped = false;

  constructor(surroundings: AppSurroundings) {
    this.#surroundings = surroundings;
    const { clock, imds, vault, random } = surroundings;
    this.#accounting = new FailureAccounting(clock, surroundings.workload, surroundings.failures);
    this.#credential = new RawManagedIdentityCredential(imds, clock, random);
    const getToken = (scope: string) => this.#credential.getToken(scope);
    this.#blobToken = createTokenCycler(getToken, clock);
    this.#secretClient = new RawSecretClient(createTokenCycler(getToken, clock), vault, clock, random);
  }

  async start(): Promise<void> {
    const [, redisPassword] = await Promise.all([
      this.#secretClient.getSecret(secretNames.appSetting),
      this.#secretClient.getSecret(secretNames.redisPassword),
    ]);
    this.#redisPassword = redisPassword;
    this.reconnectRedis();
  }

  serve(step: WorkloadStep): void {
    const accounting = this.#accounting;
    accounting.use('blob', () => this.#blobToken(scopes.storage));
    for (let index = 0; index < step.newSqlConnections; index += 1) {
      this.#credential.getToken(scopes.database).catch(() => accounting.connectionFailed('sql'));
    }
    for (let index = 0; index < step.newPostgresConnections; index += 1) {
      this.#secretClient.getSecret(secretNames.postgresPassword).then(
        (password) => {
          if (password !== this.#surroundings.servers.postgres) accounting.connectionFailed('postgres');
        },
        () => accounting.connectionFailed('postgres'),
      );
    }
  }

  reconnectRedis(): void {
    if (this.#stopped || this.#redisPassword === undefined) return;
    // The password in ioredis's options is the one read at start-up; after a rotation every
    // reconnect is refused (WRONGPASS) until the process restarts.
    if (this.#redisPassword === this.#surroundings.servers.redis) this.#accounting.redisAccepted();
    else this.#accounting.redisRefused();
  }

  async stop(): Promise<void> {
    this.#accounting.stop();
    this.#stopped = true;
    this.#surroundings.clock.stop();
  }
}
