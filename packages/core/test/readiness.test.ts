// core/internal's Readiness (every connector's ready()): connect() once, then only the cheap check;
// a failure is thrown and sends the next call back to connect(); concurrent probes share one check.
import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../src/index.js';
import { Readiness } from '../src/readiness.js';

function counted() {
  const calls = { connect: 0, stillReady: 0 };
  let failConnect: Error | undefined;
  let failStillReady: Error | undefined;
  const readiness = new Readiness(
    async () => {
      calls.connect += 1;
      if (failConnect) throw failConnect;
    },
    async () => {
      calls.stillReady += 1;
      if (failStillReady) throw failStillReady;
    },
  );
  return {
    calls,
    readiness,
    failConnect: (error?: Error) => {
      failConnect = error;
    },
    failStillReady: (error?: Error) => {
      failStillReady = error;
    },
  };
}

describe('Readiness', () => {
  it('runs connect() once, then only the in-process check', async () => {
    const { calls, readiness } = counted();
    for (let probe = 0; probe < 4; probe += 1) await readiness.check();
    expect(calls).toEqual({ connect: 1, stillReady: 3 });
  });

  it('concurrent probes share one check', async () => {
    const { calls, readiness } = counted();
    await Promise.all([readiness.check(), readiness.check(), readiness.check()]);
    expect(calls).toEqual({ connect: 1, stillReady: 0 });
  });

  it('a failed connect() is thrown, and the next probe connects again', async () => {
    const { calls, readiness, failConnect } = counted();
    failConnect(new ServiceUnavailableError('the server is restarting'));
    await expect(readiness.check()).rejects.toBeInstanceOf(ServiceUnavailableError);
    failConnect(undefined);
    await readiness.check();
    expect(calls.connect).toBe(2);
  });

  it('a failed in-process check is thrown and sends the next probe back to connect()', async () => {
    const { calls, readiness, failStillReady } = counted();
    await readiness.check();
    failStillReady(new ServiceUnavailableError('the connection dropped'));
    await expect(readiness.check()).rejects.toBeInstanceOf(ServiceUnavailableError);
    failStillReady(undefined);
    await readiness.check();
    expect(calls).toEqual({ connect: 2, stillReady: 1 });
  });
});
