import { describe, expect, it } from 'vitest';
import { defaultScenario } from '../src/scenario.js';
import { SimulatedVault, type VaultAnswer } from '../src/simulated-vault.js';
import { VirtualTime } from '../src/virtual-time.js';

const start = Date.UTC(2026, 0, 5);

function setup() {
  const time = new VirtualTime(start);
  const vault = new SimulatedVault(defaultScenario().vault, time, () => 'steady');
  vault.setSecret('postgres-password', 'first-value');
  return { time, vault };
}

describe('simulated Key Vault (4,000 GETs per 10 s per vault, excess answered 429)', () => {
  it('answers 4,000 GETs within 10 seconds and throttles the next with Retry-After', async () => {
    const { time, vault } = setup();
    const answers: VaultAnswer[] = [];
    for (let index = 0; index < 4001; index += 1) {
      time.schedule(start + index, () => answers.push(vault.get('postgres-password')));
    }
    await time.runUntil(start + 5000);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(4000);
    // The first GET (at +0 ms) leaves the window at +10 s; the 4,001st came at +4 s.
    expect(answers.at(-1)).toEqual({ status: 429, retryAfter: '6' });
    expect(vault.snapshot().total).toMatchObject({ requests: 4001, throttled: 1, peakPerWindow: 4001 });
  });

  it('does not count throttled GETs towards the limit, and admits again once the window moves', async () => {
    const { time, vault } = setup();
    for (let index = 0; index < 4000; index += 1) time.schedule(start, () => vault.get('postgres-password'));
    const rejected: VaultAnswer[] = [];
    for (let index = 0; index < 100; index += 1) {
      time.schedule(start + 5000, () => rejected.push(vault.get('postgres-password')));
    }
    let admitted: VaultAnswer | undefined;
    time.schedule(start + 10_001, () => {
      admitted = vault.get('postgres-password');
    });
    await time.runUntil(start + 20_000);
    expect(rejected.every((answer) => answer.status === 429)).toBe(true);
    expect(admitted).toMatchObject({ status: 200, value: 'first-value' });
  });

  it('serves the newest version after a rotation, and 404 for an unknown name', () => {
    const { vault } = setup();
    expect(vault.get('postgres-password')).toMatchObject({
      status: 200,
      value: 'first-value',
      version: 'v1',
    });
    expect(vault.setSecret('postgres-password', 'second-value')).toBe('v2');
    expect(vault.get('postgres-password')).toMatchObject({
      status: 200,
      value: 'second-value',
      version: 'v2',
    });
    expect(vault.get('no-such-secret').status).toBe(404);
  });
});
