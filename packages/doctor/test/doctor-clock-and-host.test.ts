import { findFreePort, type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctorWithInternals } from '../src/run-doctor.js';
import { cleanEnvironment } from './doctor-support.js';

/**
 * The clock and the host, in-process: a machine whose clock is off (the doctor's `now`, as a
 * machine with a wrong clock would have it) against the local stack's `Date` headers, and a
 * process with no identity endpoint at all (no variable, and IMDS pointed at a closed port: on an
 * Azure VM, as CI runners are, the real one would answer).
 */
describe('keyless doctor: clock skew and host detection', () => {
  let stack: LocalAzure;
  let restoreEnvironment: () => void;
  let closedPort: number;
  const environment = () => ({
    ...process.env,
    AZURE_CLIENT_ID: stack.appIdentity.clientId,
    KEYLESS_KEYVAULT_URL: stack.env.KEYLESS_KEYVAULT_URL,
  });

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['keyvault'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string,
    });
    // The libraries read the endpoint from the process environment, once per process.
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    closedPort = await findFreePort();
  }, 120_000);

  afterAll(async () => {
    restoreEnvironment?.();
    await stack?.stop();
  });

  it('a clock 6 minutes ahead fails, against the identity endpoint and Key Vault, with the NTP fix', async () => {
    const report = await runDoctorWithInternals(
      { environment: environment(), now: () => Date.now() + 6 * 60_000 },
      {},
    );
    expect(report.ok).toBe(false);
    expect(report.clock.map((each) => [each.source, each.status])).toEqual([
      ['identity endpoint', 'fail'],
      ['Key Vault', 'fail'],
    ]);
    for (const clock of report.clock) {
      expect(clock.skewSeconds).toBeLessThan(-300);
      expect(clock.failure?.code).toBe('clock-skew');
      expect(clock.failure?.cause).toMatch(/this machine's clock is \d+(\.\d)? s ahead of/);
      expect(clock.failure?.fix.join()).toContain('NTP');
    }
    // Everything else still works: the skew is the one failure.
    expect(report.resources.map((each) => each.status)).toEqual(['pass']);
  });

  it('a clock 90 seconds behind warns, and warnings alone keep the verdict ok', async () => {
    const report = await runDoctorWithInternals(
      { environment: environment(), now: () => Date.now() - 90_000 },
      {},
    );
    expect(report.clock.map((each) => each.status)).toEqual(['warn', 'warn']);
    expect(report.clock[0]?.skewSeconds).toBeGreaterThan(60);
    expect(report.clock[0]?.failure?.cause).toContain('behind');
    expect(report.ok).toBe(true);
  });

  it('no identity endpoint at all: host none, which variables were looked for, what to set; nothing requested', async () => {
    const before = stack.identity.counters.tokenRequests;
    const report = await runDoctorWithInternals(
      { environment: cleanEnvironment({ KEYLESS_KEYVAULT_URL: stack.env.KEYLESS_KEYVAULT_URL }) },
      { imdsUrl: `http://127.0.0.1:${closedPort}/metadata/instance` },
    );
    expect(report.ok).toBe(false);
    expect(report.host.kind).toBe('none');
    expect(report.host.status).toBe('fail');
    expect(report.host.failure?.code).toBe('credential-unavailable');
    expect(report.host.failure?.cause).toContain('IDENTITY_ENDPOINT');
    expect(report.host.failure?.cause).toContain('AZURE_FEDERATED_TOKEN_FILE');
    expect(report.host.failure?.fix.join('\n')).toContain('keyless-local up');
    expect(report.host.failure?.fix.join('\n')).toContain('KEYLESS_DEVELOPER_CREDENTIAL=true');
    expect(report.resources.map((each) => [each.resource, each.status, each.token.status])).toEqual([
      ['keyvault', 'skip', 'skip'],
    ]);
    expect(report.identity.selector).toBe('system-assigned');
    expect(stack.identity.counters.tokenRequests).toBe(before);
  });
});
