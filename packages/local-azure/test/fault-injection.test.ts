import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityEndpoint, startIdentityEndpoint } from '../src/index.js';
import {
  appServiceHeaders,
  appServiceUrl,
  getJson,
  imdsHeaders,
  imdsUrl,
  storageResource,
} from './support/token-requests.js';

let endpoint: IdentityEndpoint;

beforeAll(async () => {
  endpoint = await startIdentityEndpoint();
});

afterEach(() => {
  endpoint.faults.clear();
  endpoint.counters.reset();
});

afterAll(async () => {
  await endpoint.stop();
});

const imdsToken = (resource = storageResource) =>
  getJson(imdsUrl(endpoint, { 'api-version': '2018-02-01', resource }), imdsHeaders);
const appServiceToken = (resource = storageResource) =>
  getJson(appServiceUrl(endpoint, { 'api-version': '2019-08-01', resource }), appServiceHeaders(endpoint));

describe('latency', () => {
  it('delays token answers by at least the configured time', async () => {
    endpoint.faults.setLatency(150);
    const started = performance.now();
    const answer = await imdsToken();
    expect(answer.status).toBe(200);
    // Timers may fire a millisecond early; only a loose lower bound is asserted.
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('throttling', () => {
  it('answers 429 with Retry-After in seconds for the next N requests, then tokens again', async () => {
    endpoint.faults.throttle({ count: 2, retryAfterSeconds: 7 });
    for (const attempt of [1, 2]) {
      const answer = await imdsToken();
      expect(answer.status, `attempt ${attempt}`).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('7');
      expect(answer.body).toEqual({ error: 'too_many_requests', error_description: expect.any(String) });
    }
    expect((await imdsToken()).status).toBe(200);
    expect(endpoint.counters.byStatus(429)).toBe(2);
    expect(endpoint.counters.tokenRequests).toBe(3);
    expect(endpoint.counters.tokensIssued).toBe(1);
  });

  it('sends Retry-After as an HTTP-date when given a Date, in the App Service error shape', async () => {
    const retryAt = new Date('2030-01-02T03:04:05Z');
    endpoint.faults.throttle({ count: 1, retryAfterDate: retryAt });
    const answer = await appServiceToken();
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('Wed, 02 Jan 2030 03:04:05 GMT');
    expect(answer.body).toMatchObject({ statusCode: 429, message: expect.any(String) });
  });

  it('keeps throttling until cleared when no count is given', async () => {
    endpoint.faults.throttle();
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const answer = await imdsToken();
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('1');
    }
    endpoint.faults.clear();
    expect((await imdsToken()).status).toBe(200);
  });
});

describe('failWith', () => {
  it('answers 500 in IMDS’s shape for the next request only', async () => {
    endpoint.faults.failWith(500, { count: 1 });
    const failed = await imdsToken();
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ error: 'unknown', error_description: expect.any(String) });
    expect((await imdsToken()).status).toBe(200);
  });

  it('answers 410 in App Service’s shape until cleared', async () => {
    endpoint.faults.failWith(410);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const answer = await appServiceToken();
      expect(answer.status).toBe(410);
      expect(answer.body).toMatchObject({ statusCode: 410, correlationId: expect.any(String) });
    }
    expect(endpoint.counters.byStatus(410)).toBe(3);
    endpoint.faults.clear();
    expect((await appServiceToken()).status).toBe(200);
  });

  it('applies before request validation, like a service that is down', async () => {
    endpoint.faults.failWith(503, { count: 1 });
    const probe = await getJson(`${endpoint.url}/metadata/identity/oauth2/token`);
    expect(probe.status).toBe(503);
  });

  it('rejects a status that is not an HTTP error', () => {
    expect(() => endpoint.faults.failWith(200)).toThrow(RangeError);
    expect(() => endpoint.faults.failWith(503, { count: 0 })).toThrow(RangeError);
  });
});

describe('outage', () => {
  it('resets the connection without answering, then serves again after clear()', async () => {
    endpoint.faults.outage();
    const failure = await imdsToken().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError & { cause?: { code?: string } }).cause?.code).toBe('ECONNRESET');
    expect(endpoint.counters.refusedConnections).toBe(1);
    expect(endpoint.counters.tokenRequests).toBe(1);
    endpoint.faults.clear();
    expect((await imdsToken()).status).toBe(200);
  });

  it('ends by itself once its duration has passed', async () => {
    // Long enough that the first request surely falls inside it, even on a loaded machine.
    endpoint.faults.outage({ durationMs: 300 });
    await expect(appServiceToken()).rejects.toThrow();
    await sleep(400);
    expect((await appServiceToken()).status).toBe(200);
  });

  it('leaves the key documents reachable', async () => {
    endpoint.faults.outage();
    const keys = await getJson(endpoint.jwksUrl);
    expect(keys.status).toBe(200);
  });
});

describe('counters', () => {
  it('count requests per resource exactly as sent, faulted ones included', async () => {
    endpoint.faults.failWith(500, { count: 1 });
    await imdsToken('https://vault.azure.net');
    await imdsToken('https://vault.azure.net');
    await appServiceToken('https://vault.azure.net/');
    expect(endpoint.counters.byResource('https://vault.azure.net')).toBe(2);
    expect(endpoint.counters.byResource('https://vault.azure.net/')).toBe(1);
    expect(endpoint.counters.byStatus(500)).toBe(1);
    expect(endpoint.counters.byStatus(200)).toBe(2);
    expect(endpoint.counters.tokensIssued).toBe(2);
  });

  it('count rejected requests by status and start again from zero after reset()', async () => {
    await getJson(`${endpoint.url}/metadata/identity/oauth2/token`);
    expect(endpoint.counters.tokenRequests).toBe(1);
    expect(endpoint.counters.byStatus(400)).toBe(1);
    endpoint.counters.reset();
    expect(endpoint.counters.tokenRequests).toBe(0);
    expect(endpoint.counters.byStatus(400)).toBe(0);
  });

  it('do not count key-document requests as token requests', async () => {
    await getJson(endpoint.jwksUrl);
    expect(endpoint.counters.tokenRequests).toBe(0);
  });
});
