import { ProcessClock } from './process-clock.js';
import type { FleetScenario } from './scenario.js';
import type { SeededRandom } from './seeded-random.js';
import type { AppSurroundings, SimulatedApp } from './simulated-app.js';
import type { VirtualTime } from './virtual-time.js';
import { drawStep, firstStep } from './workload.js';

export type AppFactory = (surroundings: AppSurroundings) => SimulatedApp;

export interface StartStatistics {
  attempts: number;
  failed: number;
}

/**
 * One place in the fleet where an app process runs: starts it, feeds it its workload step by step
 * at its own phase, drops its Redis connection now and then, restarts it when told or when its
 * start-up failed (after the supervisor's delay). Each process gets a fresh clock, so a restart
 * starts with an empty token cache, as a real one does.
 */
export class InstanceSlot {
  readonly #time: VirtualTime;
  readonly #scenario: FleetScenario;
  readonly #createApp: AppFactory;
  readonly #surroundings: Omit<AppSurroundings, 'clock'>;
  readonly #workloadRandom: SeededRandom;
  readonly #redisRandom: SeededRandom;
  readonly #starts: StartStatistics;
  #app: SimulatedApp | undefined;
  #clock: ProcessClock | undefined;
  #generation = 0;

  constructor(options: {
    time: VirtualTime;
    scenario: FleetScenario;
    createApp: AppFactory;
    surroundings: Omit<AppSurroundings, 'clock'>;
    workloadRandom: SeededRandom;
    redisRandom: SeededRandom;
    starts: StartStatistics;
  }) {
    this.#time = options.time;
    this.#scenario = options.scenario;
    this.#createApp = options.createApp;
    this.#surroundings = options.surroundings;
    this.#workloadRandom = options.workloadRandom;
    this.#redisRandom = options.redisRandom;
    this.#starts = options.starts;
  }

  start(): void {
    const generation = ++this.#generation;
    const clock = new ProcessClock(this.#time);
    const app = this.#createApp({ ...this.#surroundings, clock });
    this.#clock = clock;
    this.#app = app;
    this.#starts.attempts += 1;
    app.start().then(
      () => {
        if (generation !== this.#generation) return;
        this.#serve(app, clock, true);
        this.#scheduleRedisDrop(app, clock);
      },
      () => {
        if (generation !== this.#generation) return;
        this.#starts.failed += 1;
        void this.stop();
        this.#time.after(this.#scenario.workload.restartAfterFailedStartMs, () => {
          if (generation === this.#generation) this.start();
        });
      },
    );
  }

  async stop(): Promise<void> {
    const app = this.#app;
    this.#app = undefined;
    this.#clock?.stop();
    this.#clock = undefined;
    if (app) await app.stop();
  }

  restart(): void {
    void this.stop();
    this.start();
  }

  #serve(app: SimulatedApp, clock: ProcessClock, first: boolean): void {
    const workload = this.#scenario.workload;
    const now = this.#time.now();
    app.serve(first ? firstStep(workload) : drawStep(workload, now, this.#workloadRandom));
    // After the start-up burst, steps fall at a random phase: a fleet restarted together must not
    // open its pools' connections in lockstep ever after, which real traffic would not do either.
    const delay = first ? this.#workloadRandom.uniform(0, workload.stepMs) : workload.stepMs;
    clock.setTimer(() => this.#serve(app, clock, false), delay);
  }

  #scheduleRedisDrop(app: SimulatedApp, clock: ProcessClock): void {
    const delay = this.#redisRandom.exponential(this.#scenario.workload.redisReconnectMeanMs);
    clock.setTimer(() => {
      app.reconnectRedis();
      this.#scheduleRedisDrop(app, clock);
    }, delay);
  }
}
