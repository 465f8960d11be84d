import { hour, minute, type WorkloadSettings } from './scenario.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * One step of one instance's traffic as the token and secret layers see it: requests (each makes
 * one Blob call, one Key Vault read, one SQL, one PostgreSQL and one Redis command) flow all the
 * time; pooled connections are opened now and then.
 */
export interface WorkloadStep {
  newSqlConnections: number;
  newPostgresConnections: number;
}

/** The daily curve: a cosine around the mean, highest at the peak hour (UTC). */
export function loadFactor(settings: WorkloadSettings, epochMs: number): number {
  return 1 + settings.dailyAmplitude * Math.cos(phaseAngle(settings, epochMs));
}

/** Requests one instance serves per second at `epochMs`. */
export function requestsPerSecond(settings: WorkloadSettings, epochMs: number): number {
  return settings.meanRequestsPerSecond * loadFactor(settings, epochMs);
}

/** Requests one instance serves between two instants: the daily curve, integrated. */
export function requestsBetween(settings: WorkloadSettings, fromMs: number, toMs: number): number {
  if (toMs <= fromMs) return 0;
  const radiansPerMs = (2 * Math.PI) / (24 * hour);
  const swing =
    (settings.dailyAmplitude *
      (Math.sin(phaseAngle(settings, toMs)) - Math.sin(phaseAngle(settings, fromMs)))) /
    radiansPerMs;
  return (settings.meanRequestsPerSecond * (toMs - fromMs + swing)) / 1000;
}

/** The traffic of one step starting at `epochMs`: Poisson draws from the instance's own stream. */
export function drawStep(settings: WorkloadSettings, epochMs: number, random: SeededRandom): WorkloadStep {
  const minutes = (settings.stepMs / minute) * loadFactor(settings, epochMs);
  return {
    newSqlConnections: random.poisson(settings.sqlConnectionsPerMinute * minutes),
    newPostgresConnections: random.poisson(settings.postgresConnectionsPerMinute * minutes),
  };
}

/** The first step after start-up: the pools fill to their maximum at once. */
export function firstStep(settings: WorkloadSettings): WorkloadStep {
  return { newSqlConnections: settings.poolMax, newPostgresConnections: settings.poolMax };
}

function phaseAngle(settings: WorkloadSettings, epochMs: number): number {
  const hourOfDay = (epochMs % (24 * hour)) / hour;
  return (2 * Math.PI * (hourOfDay - settings.peakHourUtc)) / 24;
}
