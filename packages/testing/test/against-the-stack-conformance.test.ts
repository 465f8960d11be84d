import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { againstTheStackChecks, type StackSession, startStackSession } from '../src/index.js';
import { fakeAgainstTheStack, type StackFakeDefect } from './support/fake-tables.ts';

/**
 * The group's checks against the local stack (the identity endpoint only), for a sound fake and
 * for broken ones. The refresh checks are left to the child run of conformance-wiring.test.ts,
 * which passes them for the fake: here they would only add waiting.
 */
const readyCheck =
  'ready(): resolves, then answers probes from what the process holds, and refuses after close()';

describe('the against-the-stack group', () => {
  let defects: readonly StackFakeDefect[] = [];
  const options = fakeAgainstTheStack(() => defects);
  const checks = againstTheStackChecks(options);
  let session: StackSession;

  const run = async (name: string, backend: string) => {
    const check = checks.find((each) => each.name === name && each.backend === backend);
    if (check === undefined) throw new Error(`no check "${name}" for ${backend}`);
    return check.run(session);
  };

  beforeAll(async () => {
    session = await startStackSession(options);
  });

  afterEach(async () => {
    defects = [];
    await session.cleanup();
  });

  afterAll(async () => {
    await session?.stop();
  });

  it('has the refresh checks first, one per backend, then four per backend', () => {
    expect(checks.map((check) => [check.first, check.backend])).toEqual([
      [true, 'azure-identity'],
      [true, 'msal'],
      ...Array(4).fill([false, 'azure-identity']),
      ...Array(4).fill([false, 'msal']),
    ]);
  });

  for (const backend of ['azure-identity', 'msal']) {
    it(`passes a sound connector with the ${backend} backend (the control)`, async () => {
      for (const name of [
        'connects and uses the service',
        'closes: idempotent, and refuses use afterwards with a typed error',
        readyCheck,
        'never prints a token or a secret',
      ]) {
        expect(await run(name, backend)).toEqual([]);
      }
    });

    it(`reports a connector that hands out the token, with the ${backend} backend, counting what leaked`, async () => {
      defects = ['prints-token'];
      expect(await run('never prints a token or a secret', backend)).toEqual([
        'what was printed shows 1 token(s) the identity endpoint issued',
      ]);
    });

    it(`reports a connector without ready(), or whose probes ask the endpoint, with the ${backend} backend`, async () => {
      defects = ['no-ready'];
      expect(await run(readyCheck, backend)).toEqual(['the connector has no ready() for a readiness probe']);
      // The defect asks with a fresh claims challenge each time: a request per probe with msal;
      // azure-identity hands a managed identity's cached token back whatever the claims.
      if (backend === 'msal') {
        defects = ['ready-asks-every-time'];
        expect(await run(readyCheck, backend)).toEqual(['ten probes asked the identity endpoint 10 time(s)']);
      }
    });

    it(`reports a connector that keeps working after close(), with the ${backend} backend`, async () => {
      defects = ['usable-after-close'];
      expect(await run('closes: idempotent, and refuses use afterwards with a typed error', backend)).toEqual(
        ['use() after close() succeeded'],
      );
    });
  }
});
