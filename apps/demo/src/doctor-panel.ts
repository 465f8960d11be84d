import { redactKnownSecrets } from '@keyless/core/internal';
import type { DoctorOptionsFile, DoctorReport } from '@keyless/doctor';
import type { BackendName, ResourceConfig } from './config.js';
import { DemoError, describeError, type ErrorBody } from './errors.js';

/** What the page's doctor panel shows: the last run's report (ids, claims, timings; never a token). */
export interface DoctorPanelState {
  status: 'idle' | 'running' | 'done' | 'failed';
  startedAt?: number;
  finishedAt?: number;
  /** The backend the run checked (the app's at the time). */
  backend?: BackendName;
  report?: DoctorReport;
  /** `renderDoctorReport(report)`: the table and each failure's cause and fix, as the command prints it. */
  text?: string;
  error?: ErrorBody;
}

export type DoctorRunner = (backend: BackendName) => Promise<{ report: DoctorReport; text: string }>;

/**
 * The doctor's options for the app's running configuration: the same resources the cards use and
 * the current backend. The identity is left to the environment (AZURE_CLIENT_ID), as the app's
 * own provider reads it.
 */
export function doctorOptionsFor(resources: ResourceConfig, backend: BackendName): DoctorOptionsFile {
  return {
    tokenProvider: { backend },
    keyVault: { vaultUrl: resources.keyVault.vaultUrl, secretName: resources.keyVault.secretName },
    blob: { accountUrl: resources.blob.accountUrl, container: resources.blob.container },
    sql: { server: resources.sql.server, port: resources.sql.port, database: resources.sql.database },
    postgres: {
      host: resources.postgres.host,
      port: resources.postgres.port,
      database: resources.postgres.database,
      user: resources.postgres.user,
      passwordSecret: resources.postgres.passwordSecret,
    },
    redis: {
      host: resources.redis.host,
      tlsPort: resources.redis.port,
      ...(resources.redis.user ? { user: resources.redis.user } : {}),
      passwordSecret: resources.redis.passwordSecret,
    },
  };
}

/**
 * The environment the doctor reads beside the options: the app's, minus the Entra-mode users of
 * PostgreSQL and Redis — the app logs in to both with Key Vault passwords, and the local stack
 * also sets those variables, which would add checks of a mode the app does not use.
 */
function doctorEnvironment(): Record<string, string | undefined> {
  const { KEYLESS_POSTGRES_ENTRA_USER, KEYLESS_REDIS_ENTRA_USER, ...environment } = process.env;
  return environment;
}

/** The doctor is loaded on first use: the app starts without it, and a run is rare. */
export function defaultDoctorRunner(resources: ResourceConfig, timeoutMs: number): DoctorRunner {
  return async (backend) => {
    const { renderDoctorReport, runDoctor } = await import('@keyless/doctor');
    const report = await runDoctor({
      options: doctorOptionsFor(resources, backend),
      environment: doctorEnvironment(),
      timeoutMs,
    });
    return { report, text: renderDoctorReport(report) };
  };
}

/**
 * Runs the doctor on demand, one run at a time, bounded by an overall deadline (each of its own
 * requests is bounded too), and keeps the last result for the page.
 */
export class DoctorPanel {
  readonly #run: DoctorRunner;
  readonly #deadlineMs: number;
  #state: DoctorPanelState = { status: 'idle' };
  #running: Promise<DoctorPanelState> | undefined;

  constructor(run: DoctorRunner, deadlineMs: number) {
    this.#run = run;
    this.#deadlineMs = deadlineMs;
  }

  state(): DoctorPanelState {
    return structuredClone(this.#state);
  }

  /** Starts a run (or joins the one in progress) and resolves with its result. */
  run(backend: BackendName): Promise<DoctorPanelState> {
    this.#running ??= this.#runOnce(backend).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #runOnce(backend: BackendName): Promise<DoctorPanelState> {
    const startedAt = Date.now();
    this.#state = { ...this.#state, status: 'running', startedAt, backend };
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new DemoError(
                'timeout',
                504,
                `the doctor did not finish within ${this.#deadlineMs} ms`,
                'run "pnpm keyless doctor --timeout 30000" beside the app to see which check hangs',
              ),
            ),
          this.#deadlineMs,
        );
      });
      const result = await Promise.race([this.#run(backend), deadline]);
      // The report holds ids and claims only; scrubbing it again costs nothing and guards the page.
      const report = JSON.parse(redactKnownSecrets(JSON.stringify(result.report))) as DoctorReport;
      this.#state = {
        status: 'done',
        startedAt,
        finishedAt: Date.now(),
        backend,
        report,
        text: redactKnownSecrets(result.text),
      };
    } catch (error) {
      const described = describeError(error);
      this.#state = {
        status: 'failed',
        startedAt,
        finishedAt: Date.now(),
        backend,
        error: { code: described.code, message: described.message, hint: described.hint },
      };
    } finally {
      clearTimeout(timer);
    }
    return this.state();
  }
}
