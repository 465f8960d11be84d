import { setTimeout as delay } from 'node:timers/promises';
import { ClosedError, isKeylessError } from '@keyless/core';
import { runOneOffScript } from '../one-off-script.js';
import {
  type ConformanceCheck,
  closeQuietly,
  describeChecks,
  isThenable,
  type Outcome,
  outcomeOf,
  settledOutcome,
} from './conformance-check.js';
import {
  closedPort,
  countedTokenProvider,
  countingListener,
  type LifecycleTarget,
  lifecycleTarget,
} from './lifecycle-target.js';
import { describeThrown } from './problem-text.js';

/** What the lifecycle group calls on a connector. `connect` is checked at run time, so a connector without one is reported, not refused by the compiler. */
export interface LifecycleConnector {
  close(): unknown;
  connect?(): unknown;
}

export interface LifecycleConformanceOptions<Connector extends LifecycleConnector> {
  /** e.g. `@keyless/postgres`. */
  name: string;
  /**
   * The connector's factory, pointed at `target` (host and port, or `target.url` plus your path)
   * with `target.tokenProvider`. Settings the target does not decide (database, user) are yours.
   */
  create(target: LifecycleTarget): Connector;
  /** One operation an application performs (a query, a read); after close() it must be refused. */
  use(connector: Connector): unknown;
  /**
   * A one-off script, as an application would write one: an ES module source defining
   * `async function main()` that creates the connector for `target` (a closed port; make your own
   * token provider in the script), tries it, closes it twice and returns. It runs with `folder` as
   * its working folder, so it can `import '@keyless/<yours>'` (self-reference) and your driver.
   */
  oneOffScript: {
    folder: string;
    source(target: { host: string; port: number; url: string }): string;
  };
  /** How long connect() may take to reject against a closed port; default 20 s (a hang detector, not a speed claim). */
  connectBoundMs?: number;
  /** How long after construction nothing may be connected or fetched; default 250 ms. */
  quietPeriodMs?: number;
}

const defaultConnectBoundMs = 20_000;
const defaultQuietPeriodMs = 250;

/**
 * The lifecycle rules, without a server: the factory is synchronous and lazy; close() is idempotent
 * and lets a one-off script exit; use after close() is refused with ClosedError; connect() exists
 * and rejects with a typed error, in bounded time, when the server is not there.
 */
export function lifecycleChecks<Connector extends LifecycleConnector>(
  options: LifecycleConformanceOptions<Connector>,
): ConformanceCheck[] {
  const connectBoundMs = options.connectBoundMs ?? defaultConnectBoundMs;
  const quietPeriodMs = options.quietPeriodMs ?? defaultQuietPeriodMs;

  /** A connector for a closed port; an async factory is awaited here, so each check tests its own rule. */
  const created = async (behaviour: 'answers' | 'unreachable') => {
    const tokens = countedTokenProvider(behaviour);
    const target = lifecycleTarget(await closedPort(), tokens.provider);
    const outcome = outcomeOf(() => options.create(target));
    let connector: Connector | undefined;
    let failure: string | undefined;
    if (outcome.threw) failure = `the factory threw: ${describeThrown(outcome.error)}`;
    else {
      const settled = await settledOutcome(() => outcome.value);
      if (settled.threw) failure = `the factory's promise rejected: ${describeThrown(settled.error)}`;
      else connector = settled.value as Connector;
    }
    return {
      outcome,
      connector,
      failure,
      cleanup: async () => {
        await closeQuietly(connector);
        await tokens.provider.close();
      },
    };
  };

  return [
    {
      name: 'the factory is synchronous: it returns the connector, not a promise',
      run: async () => {
        const { outcome, cleanup } = await created('answers');
        await cleanup();
        if (outcome.threw) return [`the factory threw: ${describeThrown(outcome.error)}`];
        return isThenable(outcome.value)
          ? [
              'the factory returned a promise: it must return the connector itself (connect() is the explicit wait)',
            ]
          : [];
      },
    },
    {
      name: 'construction succeeds with nothing to reach (a closed port, an identity endpoint that fails)',
      run: async () => {
        const { failure, cleanup } = await created('unreachable');
        await cleanup();
        return failure === undefined ? [] : [`${failure}, although nothing should be contacted yet`];
      },
    },
    {
      name: `construction is lazy: no connection and no token request within ${quietPeriodMs} ms of it`,
      run: async () => {
        const listener = await countingListener();
        const tokens = countedTokenProvider('answers');
        const problems: string[] = [];
        let outcome: Outcome<Connector> | undefined;
        try {
          outcome = outcomeOf(() => options.create(lifecycleTarget(listener.port, tokens.provider)));
          if (!outcome.threw && isThenable(outcome.value)) await outcome.value;
          await delay(quietPeriodMs);
          if (outcome.threw) problems.push(`construction failed: ${describeThrown(outcome.error)}`);
          if (listener.connections > 0) {
            problems.push(`construction opened ${listener.connections} connection(s) to the server`);
          }
          if (tokens.requests > 0) {
            problems.push(`construction asked the token provider ${tokens.requests} time(s)`);
          }
        } finally {
          if (outcome !== undefined && !outcome.threw) await closeQuietly(outcome.value);
          await tokens.provider.close();
          await listener.close();
        }
        return problems;
      },
    },
    {
      name: 'close() is idempotent: a second call, and two at once, resolve',
      run: async () => {
        const problems: string[] = [];
        for (const pattern of ['one after the other', 'at once'] as const) {
          const { connector, failure, cleanup } = await created('answers');
          if (connector === undefined) {
            await cleanup();
            return [failure ?? 'the factory made no connector'];
          }
          const closing =
            pattern === 'at once'
              ? await settledOutcome(() => Promise.all([connector.close(), connector.close()]))
              : await settledOutcome(async () => {
                  await connector.close();
                  await connector.close();
                });
          if (closing.threw) {
            problems.push(`closing twice ${pattern} failed: ${describeThrown(closing.error)}`);
          }
          await cleanup();
        }
        return problems;
      },
    },
    {
      name: 'use after close() is refused with ClosedError',
      run: async () => {
        const { connector, failure, cleanup } = await created('answers');
        try {
          if (connector === undefined) return [failure ?? 'the factory made no connector'];
          await connector.close();
          const used = await settledOutcome(() => options.use(connector));
          if (!used.threw) return ['use() after close() succeeded'];
          return used.error instanceof ClosedError
            ? []
            : [`use() after close() failed with ${describeThrown(used.error)}, not ClosedError`];
        } finally {
          await cleanup();
        }
      },
    },
    {
      name: `connect() exists and rejects with a typed keyless error within ${connectBoundMs} ms when the port is closed`,
      timeoutMs: connectBoundMs + 10_000,
      run: async () => {
        const { connector, failure, cleanup } = await created('answers');
        try {
          if (connector === undefined) return [failure ?? 'the factory made no connector'];
          if (typeof connector.connect !== 'function') {
            return ['the connector has no connect() for an application that wants to fail fast at start-up'];
          }
          const connect = connector.connect.bind(connector);
          const bound = new AbortController();
          const result = await Promise.race([
            settledOutcome(connect),
            delay(connectBoundMs, 'still pending' as const, { signal: bound.signal }).catch(() => undefined),
          ]);
          bound.abort();
          if (result === 'still pending' || result === undefined) {
            return [`connect() had not settled ${connectBoundMs} ms after it was called`];
          }
          if (!result.threw) return ['connect() resolved although nothing listens on the port'];
          return isKeylessError(result.error)
            ? []
            : [`connect() rejected with ${describeThrown(result.error)}, not a keyless error`];
        } finally {
          await cleanup();
        }
      },
    },
    {
      name: 'close() lets a one-off script exit',
      timeoutMs: connectBoundMs + 20_000,
      run: async () => {
        const port = await closedPort();
        const result = await runOneOffScript(
          options.oneOffScript.folder,
          options.oneOffScript.source({ host: '127.0.0.1', port, url: `https://127.0.0.1:${port}` }),
          { timeoutMs: connectBoundMs + 10_000 },
        );
        const problems: string[] = [];
        if (result.settled === undefined) problems.push("the script's main() never settled");
        else if (!result.settled.startsWith('resolved')) {
          problems.push(`the script's main() settled as "${result.settled}" (it should close and return)`);
        }
        if (result.stillAlive !== undefined) {
          problems.push(
            `the process was still alive a second after main() settled, kept by ${result.stillAlive}`,
          );
        } else if (result.exitCode !== 0) {
          problems.push(`the script exited with code ${result.exitCode}`);
        }
        return problems;
      },
    },
  ];
}

/** Registers the lifecycle checks as vitest tests: `describe('lifecycle: <name>')`. */
export function describeLifecycleConformance<Connector extends LifecycleConnector>(
  options: LifecycleConformanceOptions<Connector>,
): void {
  describeChecks(`lifecycle: ${options.name}`, lifecycleChecks(options));
}
