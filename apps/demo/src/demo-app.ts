import type { LocalAzure } from '@keyless/local-azure';
import { CardBoard, type CardName, cardNames } from './cards.js';
import type { BackendName, DemoMode, ResourceConfig } from './config.js';
import { type ConnectorListeners, type ConnectorSet, createConnectorSet } from './connectors.js';
import { ActivitySampler, type ActivitySources } from './dashboard/activity-sampler.js';
import { TokenTimeline } from './dashboard/token-timeline.js';
import {
  DoctorPanel,
  type DoctorPanelState,
  type DoctorRunner,
  defaultDoctorRunner,
} from './doctor-panel.js';
import { DemoError } from './errors.js';
import { type CardReadiness, checkReadiness } from './readiness.js';

const scopes = {
  storage: 'https://storage.azure.com/.default',
  vault: 'https://vault.azure.net/.default',
  sql: 'https://database.windows.net/.default',
} as const;

export interface DemoLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

export interface DemoAppOptions {
  mode: DemoMode;
  backend: BackendName;
  resources: ResourceConfig;
  /** The local stack, in local mode: rotation and the identity outage act on it. */
  stack?: LocalAzure | undefined;
  logger: DemoLogger;
  /** The dashboard's sampling interval (default 1 s). */
  sampleIntervalMs?: number;
  /** How a doctor run is made (default: `runDoctor()` of @keyless/doctor for the running configuration). */
  doctorRunner?: DoctorRunner;
}

const statusFreshnessMs = 1_000;
/** Each of the doctor's requests gets this long; the whole run at most `doctorDeadlineMs`. */
const doctorRequestTimeoutMs = 10_000;
const doctorDeadlineMs = 60_000;
const readinessTimeoutMs = 5_000;

/**
 * The app's state: the current connector set (rebuilt when the backend changes), the cards, and
 * the local-mode actions. Routes only translate HTTP to calls on this.
 */
export class DemoApp {
  readonly mode: DemoMode;
  readonly resources: ResourceConfig;
  readonly cards: CardBoard;
  readonly timeline = new TokenTimeline();
  readonly sampler: ActivitySampler;
  readonly doctor: DoctorPanel;
  readonly #scopes: Record<CardName, string>;
  readonly #stack: LocalAzure | undefined;
  readonly #logger: DemoLogger;
  #connectors: ConnectorSet;
  #switching: Promise<void> | undefined;
  #probing: Promise<void> | undefined;
  #lastProbe = 0;
  #outageUntil = 0;
  #closed = false;

  private constructor(options: DemoAppOptions, connectors: ConnectorSet, cards: CardBoard) {
    this.mode = options.mode;
    this.resources = options.resources;
    this.#stack = options.stack;
    this.#logger = options.logger;
    this.#connectors = connectors;
    this.cards = cards;
    this.#scopes = Object.fromEntries(cardNames.map((name) => [name, cards.card(name).tokenScope])) as Record<
      CardName,
      string
    >;
    this.timeline.watch(connectors.tokenProvider);
    this.sampler = new ActivitySampler({
      sources: this.#activitySources(),
      scopes: this.#scopes,
      ...(options.sampleIntervalMs ? { intervalMs: options.sampleIntervalMs } : {}),
    });
    this.sampler.start();
    this.doctor = new DoctorPanel(
      options.doctorRunner ?? defaultDoctorRunner(options.resources, doctorRequestTimeoutMs),
      doctorDeadlineMs,
    );
  }

  /**
   * Locally the plots read the stack's own counters: every request the identity endpoint and the
   * vault received, whoever sent it. In Azure there are none to read, so the identity series counts
   * the provider's own token requests (its events) and the Key Vault series is left out.
   */
  #activitySources(): ActivitySources {
    const stack = this.#stack;
    const operations = (card: CardName) => this.cards.counts(card);
    if (!stack) {
      return {
        operations,
        identityRequests: (scope) => this.timeline.requestsFor(scope),
        keyVaultRequests: () => undefined,
      };
    }
    return {
      operations,
      identityRequests: (scope) => {
        // The endpoint counts the resource as sent: both backends drop "/.default"; a trailing slash is counted too.
        const resource = scope.replace(/\/\.default$/, '');
        return (
          stack.identity.counters.byResource(resource) + stack.identity.counters.byResource(`${resource}/`)
        );
      },
      keyVaultRequests: () => stack.keyVault?.counters.requests,
    };
  }

  static async create(options: DemoAppOptions): Promise<DemoApp> {
    const { resources } = options;
    const cards = new CardBoard([
      {
        name: 'blob',
        title: 'Blob Storage',
        target: resources.blob.accountUrl,
        auth: 'Entra token (Storage)',
        tokenScope: scopes.storage,
      },
      {
        name: 'keyvault',
        title: 'Key Vault',
        target: resources.keyVault.vaultUrl,
        auth: 'Entra token (Key Vault)',
        tokenScope: scopes.vault,
      },
      {
        name: 'sql',
        title: 'Azure SQL',
        target: `${resources.sql.server}:${resources.sql.port}/${resources.sql.database}`,
        auth: 'Entra token in the TDS login',
        tokenScope: scopes.sql,
      },
      {
        name: 'postgres',
        title: 'PostgreSQL',
        target: `${resources.postgres.host}:${resources.postgres.port}/${resources.postgres.database}`,
        auth: `password from Key Vault secret "${resources.postgres.passwordSecret}"`,
        tokenScope: scopes.vault,
      },
      {
        name: 'redis',
        title: 'Redis',
        target: `${resources.redis.host}:${resources.redis.port} (TLS)`,
        auth: `password from Key Vault secret "${resources.redis.passwordSecret}"`,
        tokenScope: scopes.vault,
      },
    ]);
    const listeners: ConnectorListeners = {
      onPostgresPasswordRefused: () => cards.note('postgres', 'refused logins handled', (count) => count + 1),
      onRedisPasswordRefreshed: () => cards.note('redis', 'password refreshes', (count) => count + 1),
      onWarning: (message, error) =>
        options.logger.warn({ error: (error as Error | undefined)?.message }, message),
    };
    const connectors = await createConnectorSet(resources, options.backend, listeners);
    const app = new DemoApp(options, connectors, cards);
    app.#listeners = listeners;
    return app;
  }

  #listeners: ConnectorListeners | undefined;

  get backend(): BackendName {
    return this.#connectors.backend;
  }

  get identity(): string {
    return this.#connectors.tokenProvider.identityDescription;
  }

  get outageUntil(): number | undefined {
    return this.#outageUntil > Date.now() ? this.#outageUntil : undefined;
  }

  get ready(): boolean {
    return this.cards.ready;
  }

  /** Runs an operation on the current connectors, recorded on a card. */
  async #run<Result>(
    card: CardName,
    operation: (connectors: ConnectorSet) => Promise<Result>,
  ): Promise<Result> {
    if (this.#closed) throw new DemoError('closed', 503, 'the demo is shutting down');
    await this.#switching;
    const connectors = this.#connectors;
    return this.cards.run(card, connectors.tokenProvider, () => operation(connectors));
  }

  // ── card actions ──────────────────────────────────────────────────────────────────────────────

  async uploadBlob(name: string, content: string) {
    return this.#run('blob', async ({ blob }) => {
      const client = blob.containerClient(this.resources.blob.container).getBlockBlobClient(name);
      const response = await blob.run(() => client.upload(content, Buffer.byteLength(content)));
      return {
        container: this.resources.blob.container,
        name,
        size: Buffer.byteLength(content),
        etag: response.etag,
        lastModified: response.lastModified?.toISOString(),
      };
    });
  }

  async downloadBlob(name: string) {
    return this.#run('blob', async ({ blob }) => {
      const client = blob.containerClient(this.resources.blob.container).getBlobClient(name);
      const buffer = await blob.run(() => client.downloadToBuffer());
      return {
        container: this.resources.blob.container,
        name,
        size: buffer.length,
        content: buffer.toString('utf8'),
      };
    });
  }

  /** The secret is read through the cached secret source; only its length and version leave. */
  async readSecret() {
    return this.#run('keyvault', async ({ keyVault }) => {
      const source = keyVault.secret(this.resources.keyVault.secretName);
      const value = await source.get();
      return { name: source.name, version: source.version, length: value.length, masked: '•'.repeat(8) };
    });
  }

  async sqlWhoAmI() {
    return this.#run('sql', async ({ sql }) => {
      const [row] = await sql.query<{ login: string }>('SELECT SUSER_SNAME() AS login');
      return { query: 'SELECT SUSER_SNAME()', login: row?.login };
    });
  }

  async postgresQuery() {
    return this.#run('postgres', async ({ postgres }) => {
      const query = 'SELECT current_user AS "user", current_database() AS database, now() AS now';
      const result = await postgres.query<{ user: string; database: string; now: Date }>(query);
      const row = result.rows[0];
      return { query, user: row?.user, database: row?.database, serverTime: row?.now.toISOString() };
    });
  }

  async redisIncrement() {
    return this.#run('redis', async ({ redis }) => {
      const key = 'keyless-demo:counter';
      return { command: `INCR ${key}`, key, value: await redis.client.incr(key) };
    });
  }

  // ── status ────────────────────────────────────────────────────────────────────────────────────

  /** Checks every connector (at most once a second, however many pages poll) and returns the cards. */
  async status() {
    if (Date.now() - this.#lastProbe > statusFreshnessMs) {
      this.#probing ??= this.probe().finally(() => {
        this.#lastProbe = Date.now();
        this.#probing = undefined;
      });
    }
    await this.#probing;
    return {
      mode: this.mode,
      backend: this.backend,
      identity: this.identity,
      ready: this.ready,
      outageUntil: this.outageUntil,
      now: Date.now(),
      cards: this.cards.all(),
    };
  }

  /** One cheap request per connector; failures are recorded on the cards, not thrown. */
  async probe(): Promise<void> {
    const checks: Record<CardName, (connectors: ConnectorSet) => Promise<unknown>> = {
      blob: ({ blob }) => blob.run(() => blob.containerClient(this.resources.blob.container).getProperties()),
      keyvault: ({ keyVault }) => keyVault.secret(this.resources.keyVault.secretName).get(),
      sql: ({ sql }) => sql.query('SELECT 1'),
      postgres: ({ postgres }) => postgres.query('SELECT 1'),
      redis: ({ redis }) => redis.client.ping(),
    };
    await Promise.allSettled(cardNames.map((name) => this.#run(name, checks[name])));
  }

  /** `/readyz`: each card's token (warmUp) and connector (`ready()`); see readiness.ts. */
  async readiness(): Promise<CardReadiness[]> {
    if (this.#closed) throw new DemoError('closed', 503, 'the demo is shutting down');
    await this.#switching;
    return checkReadiness({
      connectors: this.#connectors,
      resources: this.resources,
      scopes: this.#scopes,
      timeoutMs: readinessTimeoutMs,
    });
  }

  /** The plots' data: per-second samples, token events and outages over the sampler's window. */
  metrics() {
    const now = Date.now();
    const since = now - this.sampler.windowMs;
    return {
      now,
      intervalMs: this.sampler.intervalMs,
      windowMs: this.sampler.windowMs,
      sources: {
        identity: this.#stack ? 'the local identity endpoint (every caller)' : "this app's token requests",
        keyVault: this.#stack ? 'the local Key Vault (every caller)' : null,
      },
      scopes: this.#scopes,
      samples: this.sampler.samples(),
      tokenEvents: this.timeline.eventsSince(since),
      outages: this.timeline.outagesSince(since),
    };
  }

  /** Runs the doctor for the running configuration (one run at a time) and returns its result. */
  async runDoctor(): Promise<DoctorPanelState> {
    if (this.#closed) throw new DemoError('closed', 503, 'the demo is shutting down');
    return this.doctor.run(this.backend);
  }

  // ── backend switch and local-mode actions ─────────────────────────────────────────────────────

  /** Builds a new provider and connector set with `backend`, then closes the old set. */
  async switchBackend(backend: BackendName): Promise<void> {
    if (this.#closed) throw new DemoError('closed', 503, 'the demo is shutting down');
    if (backend === this.backend) return;
    const previous = this.#switching;
    const switching = (async () => {
      await previous;
      const next = await createConnectorSet(this.resources, backend, this.#listenersOrThrow());
      const old = this.#connectors;
      this.#connectors = next;
      this.timeline.watch(next.tokenProvider);
      this.#logger.info({ backend }, 'token backend switched');
      // The next status request checks the new set instead of answering from the old one.
      this.#lastProbe = 0;
      await old.close();
    })();
    this.#switching = switching.finally(() => {
      if (this.#switching === switching) this.#switching = undefined;
    });
    await switching;
  }

  #listenersOrThrow(): ConnectorListeners {
    if (!this.#listeners) throw new Error('listeners not set');
    return this.#listeners;
  }

  #localStack(): LocalAzure {
    if (!this.#stack) {
      throw new DemoError(
        'not-local',
        404,
        'this action needs the local stack (KEYLESS_DEMO_MODE=local)',
        'in Azure, rotate the secret with your rotation job and watch the card',
      );
    }
    return this.#stack;
  }

  /**
   * Rotates the PostgreSQL password and ends the app's open sessions, as a failover would:
   * PostgreSQL keeps sessions after a rotation, so without that the pool would not log in again
   * until it grew. The next query logs in, is refused (28P01), and the connector re-reads the secret.
   */
  async rotatePostgresPassword() {
    const stack = this.#localStack();
    await stack.rotatePostgresPassword();
    this.cards.note('postgres', 'rotations', (count) => count + 1);
    const { pool } = this.#connectors.postgres;
    const client = await pool.connect();
    try {
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()',
      );
    } finally {
      client.release(true);
    }
    this.#logger.info(
      { service: 'postgres' },
      'password rotated (new Key Vault secret version), sessions ended',
    );
    return { rotated: 'postgres', secret: this.resources.postgres.passwordSecret, sessionsEnded: true };
  }

  /**
   * Rotates the Redis password and drops the app's live connection, as a failover would: Redis
   * keeps authenticated connections after a rotation, so without the drop nothing would log in.
   */
  async rotateRedisPassword() {
    const stack = this.#localStack();
    await stack.rotateRedisPassword();
    this.cards.note('redis', 'rotations', (count) => count + 1);
    const { client } = this.#connectors.redis;
    if (client.status === 'ready') {
      const id = await client.client('ID');
      await client.call('CLIENT', 'KILL', 'ID', String(id), 'SKIPME', 'no').catch(() => {});
    }
    this.#logger.info(
      { service: 'redis' },
      'password rotated (new Key Vault secret version), connection dropped',
    );
    return { rotated: 'redis', secret: this.resources.redis.passwordSecret, connectionDropped: true };
  }

  identityOutage(durationMs: number) {
    const stack = this.#localStack();
    stack.identity.faults.outage({ durationMs });
    const start = Date.now();
    this.#outageUntil = start + durationMs;
    this.timeline.outageStarted(start, this.#outageUntil);
    this.#logger.info({ durationMs }, 'identity endpoint outage started');
    return { outageUntil: this.#outageUntil, durationMs };
  }

  endIdentityOutage() {
    const stack = this.#localStack();
    stack.identity.faults.clear();
    this.#outageUntil = 0;
    this.timeline.outageEnded(Date.now());
    return { outageUntil: null };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.sampler.stop();
    this.timeline.stop();
    await this.#switching?.catch(() => {});
    await this.#probing?.catch(() => {});
    await this.#connectors.close();
  }
}
