import { describe, expect, it } from 'vitest';
import { defaultScenario, hour, minute } from '../src/scenario.js';
import { SeededRandom } from '../src/seeded-random.js';
import { drawStep, loadFactor, requestsBetween, requestsPerSecond } from '../src/workload.js';

const settings = defaultScenario().workload;
const midnight = Date.UTC(2026, 0, 5);

describe('workload', () => {
  it('peaks at the peak hour and bottoms out twelve hours later', () => {
    expect(loadFactor(settings, midnight + 15 * hour)).toBeCloseTo(1.6);
    expect(loadFactor(settings, midnight + 3 * hour)).toBeCloseTo(0.4);
  });

  it('integrates the daily curve: a whole day averages the mean rate', () => {
    const day = requestsBetween(settings, midnight, midnight + 24 * hour);
    expect(day).toBeCloseTo(settings.meanRequestsPerSecond * 24 * 3600, 3);
    // A minute around the peak is close to rate × 60.
    const peakMinute = requestsBetween(settings, midnight + 15 * hour, midnight + 15 * hour + minute);
    expect(peakMinute).toBeCloseTo(requestsPerSecond(settings, midnight + 15 * hour) * 60, 0);
  });

  it('opens about the configured number of connections per minute', () => {
    const random = new SeededRandom(7, 1);
    let postgres = 0;
    let sql = 0;
    const steps = 10_000;
    for (let index = 0; index < steps; index += 1) {
      // Spread over whole days so the daily curve averages out.
      const step = drawStep(settings, midnight + ((index * settings.stepMs) % (24 * hour)), random);
      postgres += step.newPostgresConnections;
      sql += step.newSqlConnections;
    }
    const minutes = (steps * settings.stepMs) / minute;
    expect(postgres / minutes).toBeCloseTo(settings.postgresConnectionsPerMinute, 1);
    expect(sql / minutes).toBeCloseTo(settings.sqlConnectionsPerMinute, 1);
  });
});
