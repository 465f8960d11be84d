import { connect as tcpConnect } from 'node:net';
import { type FaultContext, type FaultScenario, laneSucceededSince, waitUntil } from './fault-scenario.ts';

/**
 * Faults in which a database is away for tens of seconds and the connectors are documented to wait
 * it out: an operation issued meanwhile is slow, not failed. Each scenario raises the operation
 * timeout to what the connector may take, so only a longer wait counts as a hang.
 */

/** How long a fault waits for its own effect to show; a guard, not a speed bound. */
const patienceMs = 15_000;

const sqlLane = 'sql-whoami';
/**
 * Azure SQL reconfigures a database (patching, scaling, failover) by refusing logins with transient
 * errors such as 40613 for a while, usually under 60 s, and asks clients to retry the login after
 * 5 s and then longer:
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues#transient-fault-error-messages-40197-40613-and-others
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-connectivity-issues#interval-increase-between-retries
 */
const reconfigurationMs = 30_000;
/** The SQL connector retries such a login for 60 s (loginRetry.budgetMs); the rest is the last login and the query. */
const sqlWaitMs = 75_000;
/** Its retries wait up to 15 s plus a fifth at random: the first after the end comes within that. */
const sqlRetryGapMs = 20_000;

export function sqlReconfiguration(): FaultScenario {
  return {
    name: 'SQL reconfiguration',
    expectation: 'zero failures',
    description: `for ${reconfigurationMs / 1000} s every new SQL login is refused with 40613 "Database … is not currently available" (patching, scaling, failover) and each open session is closed once its request is answered; new connections retry after 5 s, then longer, as Microsoft advises`,
    tokenLifetimeSeconds: 16,
    operationTimeoutMs: sqlWaitMs,
    async inject(context) {
      const sql = context.stack.sql;
      if (!sql) throw new Error('the fault suite needs the SQL endpoint');
      const refusedBefore = sql.counters.failedLogins;
      const startedAt = Date.now();
      sql.faults.reconfigure({ durationMs: reconfigurationMs, errorNumber: 40613 });
      await waitUntil(
        () => !sql.faults.reconfiguring,
        'the reconfiguration to end',
        reconfigurationMs + patienceMs,
      );
      const endedAt = Date.now();
      context.note('reconfiguration (ms)', endedAt - startedAt);
      context.note('SQL logins refused', sql.counters.failedLogins - refusedBefore);
      await waitUntil(
        () => context.load.inFlight(sqlLane, endedAt) === 0 && laneSucceededSince(context, sqlLane, endedAt),
        'every SQL query issued during the reconfiguration answered, and one issued after it',
        sqlWaitMs + sqlRetryGapMs,
      );
      noteWindow(context, sqlLane, startedAt, endedAt, 'SQL queries');
    },
  };
}

const postgresLane = 'postgres-query';
/**
 * Azure documents an HA failover as completing "within 60-120 seconds", and most transient faults
 * as mitigated in under 60 s:
 * https://learn.microsoft.com/azure/postgresql/high-availability/concepts-high-availability
 * https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-connectivity
 * The connector's connectRetryMs (120 s by default) is chosen from those figures.
 */
const postgresDowntimeMs = 60_000;

export function postgresAbsent(): FaultScenario {
  return {
    name: 'PostgreSQL absent 60 s',
    expectation: 'zero failures',
    description: `nothing listens on the PostgreSQL port for ${postgresDowntimeMs / 1000} s (a failover or maintenance); the absence begins between queries, with the pools empty, so every query issued meanwhile needs a new connection, which waits the absence out (connectRetryMs, 120 s by default). A query cut off mid-flight is the "PostgreSQL restarted" row`,
    tokenLifetimeSeconds: 16,
    // The absence, the last backoff step (2 s) and a login, with room to spare.
    operationTimeoutMs: postgresDowntimeMs + 30_000,
    // pg's own default, as in the app: no limit on waiting for a pooled client. The suite's 3 s would
    // fail a query queued behind logins that ride the absence out; each login keeps connectTimeoutMs.
    tuning: { postgres: { pool: { connectionTimeoutMillis: 0 } } },
    async inject(context) {
      const postgres = context.stack.postgres;
      if (!postgres) throw new Error('the fault suite needs PostgreSQL');
      let retries = 0;
      let refusedRetries = 0;
      const stopListening = context.connectorSets.map((set) =>
        set.postgres.on('connect-retry', ({ error }) => {
          retries += 1;
          if (/ECONNREFUSED/.test(error instanceof Error ? error.message : '')) refusedRetries += 1;
        }),
      );
      try {
        // The server goes away with no session open: no query is cut off, every later one connects anew.
        context.load.hold(postgresLane);
        await waitUntil(
          () =>
            context.load.inFlight(postgresLane) === 0 &&
            context.connectorSets.every((set) => set.postgres.pool.totalCount === 0),
          'the PostgreSQL queries answered and the pools empty (idle sessions live 1 s)',
          patienceMs,
        );
        const restarted = postgres.restart({ downtimeMs: postgresDowntimeMs });
        // Awaited below; a failure before then must not surface as an unhandled rejection.
        restarted.catch(() => {});
        await waitUntil(
          () => portRefuses(postgres.port),
          'the PostgreSQL port to refuse connections',
          patienceMs,
        );
        const absentSince = Date.now();
        context.load.release(postgresLane);
        await restarted;
        const backAt = Date.now();
        context.note('downtime (ms)', postgresDowntimeMs);
        context.note('absence seen by the load (ms)', backAt - absentSince);
        await waitUntil(
          () =>
            context.load.inFlight(postgresLane, backAt) === 0 &&
            laneSucceededSince(context, postgresLane, backAt),
          'every PostgreSQL query issued during the absence answered, and one issued after it',
          patienceMs,
        );
        noteWindow(context, postgresLane, absentSince, backAt, 'PostgreSQL queries');
        context.note('PostgreSQL connect retries', retries);
        context.note('PostgreSQL connect retries refused', refusedRetries);
      } finally {
        context.load.release(postgresLane);
        for (const stop of stopListening) stop();
      }
    },
  };
}

/** How many operations of `kind` started in [from, to), how many got their answer, and the longest wait. */
function noteWindow(context: FaultContext, kind: string, from: number, to: number, label: string): void {
  const issued = context.load.outcomes.filter(
    (outcome) => outcome.kind === kind && outcome.startedAt >= from && outcome.startedAt < to,
  );
  context.note(`${label} issued during the fault`, issued.length);
  context.note(
    `${label} answered of those`,
    issued.filter((outcome) => outcome.failure === undefined).length,
  );
  context.note(`longest of those (ms)`, Math.max(0, ...issued.map((outcome) => outcome.durationMs)));
}

/** True when a TCP connect to the port is refused: nothing listens there. */
function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
