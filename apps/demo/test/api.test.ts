import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardNames } from '../src/cards.ts';
import { eventually, findCanaries, type RunningDemo, startDemo } from './support.ts';

let demo: RunningDemo;

beforeAll(async () => {
  demo = await startDemo('azure-identity');
}, 60_000);

afterAll(async () => {
  await demo?.stop();
});

async function expectEveryCardHealthy(backend: string) {
  const { status, json } = await demo.call('GET', '/api/status');
  expect(status).toBe(200);
  expect(json.backend).toBe(backend);
  expect(json.cards.map((card: { name: string }) => card.name)).toEqual([...cardNames]);
  for (const card of json.cards) {
    expect(card, card.name).toMatchObject({ status: 'healthy', answeredOnce: true, backend });
    expect(card.identity).toContain(demo.stack.appIdentity.clientId);
    expect(card.tokenExpiresAt).toBeGreaterThan(json.now);
    expect(typeof card.lastLatencyMs).toBe('number');
  }
  return json;
}

async function expectEveryActionWorks() {
  const upload = await demo.call('POST', '/api/blob/upload', { name: 'api-test.txt', content: 'hello blob' });
  expect(upload).toMatchObject({
    status: 200,
    json: { container: 'keyless-demo', name: 'api-test.txt', size: 10 },
  });
  const download = await demo.call('GET', '/api/blob/download?name=api-test.txt');
  expect(download).toMatchObject({ status: 200, json: { content: 'hello blob', size: 10 } });

  const secret = await demo.call('GET', '/api/keyvault/secret');
  expect(secret.status).toBe(200);
  expect(secret.json).toMatchObject({ name: 'demo-message', length: 45, masked: '••••••••' });
  expect(secret.json.version).toMatch(/^[0-9a-f]{32}$/);
  expect(Object.keys(secret.json)).not.toContain('value');

  const sql = await demo.call('GET', '/api/sql/whoami');
  expect(sql).toMatchObject({ status: 200, json: { login: 'keyless-app' } });

  const postgres = await demo.call('GET', '/api/postgres/query');
  expect(postgres).toMatchObject({ status: 200, json: { user: 'keyless_app', database: 'keyless' } });

  const first = await demo.call('POST', '/api/redis/incr');
  const second = await demo.call('POST', '/api/redis/incr');
  expect(first.status).toBe(200);
  expect(second.json.value).toBe(first.json.value + 1);
}

describe.each(['azure-identity', 'msal'] as const)('the JSON API with the %s backend', (backend) => {
  it('switches to the backend live and answers health and readiness', async () => {
    const switched = await demo.call('POST', '/api/backend', { backend });
    expect(switched).toMatchObject({ status: 200, json: { backend } });
    expect(await demo.call('GET', '/healthz')).toMatchObject({ status: 200, json: { status: 'up' } });
    expect(await demo.call('GET', '/readyz')).toMatchObject({
      status: 200,
      json: { ready: true, failing: [] },
    });
  });

  it('shows every card healthy, with the backend that served its token', async () => {
    await expectEveryCardHealthy(backend);
  });

  it('answers every card action', async () => {
    await expectEveryActionWorks();
  });

  it('survives a PostgreSQL password rotation: the next query logs in with the new password', async () => {
    const refusedLogins = async () =>
      (await demo.call('GET', '/api/status')).json.cards.find(
        (card: { name: string }) => card.name === 'postgres',
      ).notes['refused logins handled'] ?? 0;
    const before = await refusedLogins();
    expect(await demo.call('POST', '/api/local/rotate-postgres')).toMatchObject({
      status: 200,
      json: { rotated: 'postgres', sessionsEnded: true },
    });
    const query = await demo.call('GET', '/api/postgres/query');
    expect(query).toMatchObject({ status: 200, json: { user: 'keyless_app' } });
    expect(await refusedLogins()).toBeGreaterThan(before);
  });

  it('survives a Redis password rotation and a dropped connection: the next INCR succeeds', async () => {
    const before = (await demo.call('POST', '/api/redis/incr')).json.value;
    expect(await demo.call('POST', '/api/local/rotate-redis')).toMatchObject({
      status: 200,
      json: { rotated: 'redis', connectionDropped: true },
    });
    const after = await demo.call('POST', '/api/redis/incr');
    expect(after).toMatchObject({ status: 200, json: { value: before + 1 } });
    const status = await demo.call('GET', '/api/status');
    const card = status.json.cards.find((entry: { name: string }) => entry.name === 'redis');
    expect(card.notes['password refreshes']).toBeGreaterThanOrEqual(1);
  });

  it('keeps every card working from cached tokens while the identity endpoint is down', async () => {
    const outage = await demo.call('POST', '/api/local/identity-outage', { durationMs: 60_000 });
    expect(outage.status).toBe(200);
    try {
      const refusedBefore = demo.stack.identity.counters.refusedConnections;
      await expectEveryActionWorks();
      const status = await expectEveryCardHealthy(backend);
      expect(status.outageUntil).toBeGreaterThan(status.now);
      // Nobody even asked the endpoint: every token came from the cache.
      expect(demo.stack.identity.counters.refusedConnections).toBe(refusedBefore);
    } finally {
      await demo.call('DELETE', '/api/local/identity-outage');
    }
  });
});

describe('errors', () => {
  it('answers bad input, unknown routes and missing blobs as JSON errors with a status', async () => {
    const badBackend = await demo.call('POST', '/api/backend', { backend: 'password' });
    expect(badBackend).toMatchObject({ status: 400, json: { error: { code: 'bad-request' } } });
    expect(badBackend.json.error.message).toContain('backend');

    const badName = await demo.call('GET', '/api/blob/download?name=../etc');
    expect(badName).toMatchObject({ status: 400, json: { error: { code: 'bad-request' } } });

    const missing = await demo.call('GET', '/api/blob/download?name=no-such-blob.txt');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toMatch(/BlobNotFound|not-found/);

    const unknown = await demo.call('GET', '/api/nothing-here');
    expect(unknown).toMatchObject({ status: 404, json: { error: { code: 'not-found' } } });
    expect(unknown.json.error.hint).toBeTruthy();
  });
});

describe('the dashboard data', () => {
  it('samples every card each second: operations, identity-endpoint and Key Vault requests', async () => {
    const before = (await demo.call('GET', '/api/metrics')).json;
    expect(before).toMatchObject({ intervalMs: 1_000, windowMs: 300_000 });
    expect(Object.keys(before.scopes)).toEqual([...cardNames]);
    // A new MSAL provider (whatever the backend was) asks the identity endpoint for every scope
    // on first use, and the vault for the secrets.
    await demo.call('POST', '/api/backend', { backend: 'azure-identity' });
    await demo.call('POST', '/api/backend', { backend: 'msal' });
    const switchedAt = Date.now();
    await expectEveryActionWorks();
    type Metrics = typeof before;
    const sum = (metrics: Metrics, card: string, key: string) =>
      metrics.samples
        .filter((sample: { at: number }) => sample.at > before.now)
        .reduce(
          (total: number, sample: { cards: Record<string, Record<string, number>> }) =>
            total + (sample.cards[card]?.[key] ?? 0),
          0,
        );
    const doneAt = Date.now();
    // The sample taken after the last action holds it.
    const after: Metrics = await eventually(async () => {
      const metrics = (await demo.call('GET', '/api/metrics')).json;
      return (metrics.samples.at(-1)?.at ?? 0) > doneAt ? metrics : undefined;
    }, 'a sample after the actions');
    const totals = Object.fromEntries(
      cardNames.map((card) => [
        card,
        {
          operations: sum(after, card, 'operations'),
          identityRequests: sum(after, card, 'identityRequests'),
          keyVaultRequests: sum(after, card, 'keyVaultRequests'),
        },
      ]),
    );
    for (const card of cardNames) {
      expect(totals[card]?.operations, card).toBeGreaterThan(0);
      expect(totals[card]?.identityRequests, card).toBeGreaterThan(0);
      expect(totals[card]?.keyVaultRequests, card).toBeGreaterThan(0);
    }
    expect(after.samples.length).toBeLessThanOrEqual(300);
    // The new provider's token acquisitions are on the timeline, one per scope.
    const acquired = after.tokenEvents.filter(
      (event: { type: string; at: number; backend: string }) =>
        event.type === 'acquired' && event.backend === 'msal' && event.at >= switchedAt,
    );
    expect(new Set(acquired.map((event: { scope: string }) => event.scope))).toEqual(
      new Set(Object.values(before.scopes)),
    );
  });

  it('marks an identity outage from start to its early end', async () => {
    const started = await demo.call('POST', '/api/local/identity-outage', { durationMs: 60_000 });
    const ended = await demo.call('DELETE', '/api/local/identity-outage');
    expect(ended.status).toBe(200);
    const { json } = await demo.call('GET', '/api/metrics');
    const outage = json.outages.at(-1);
    expect(outage.start).toBe(started.json.outageUntil - 60_000);
    expect(outage.end).toBeLessThan(started.json.outageUntil);
  });
});

describe('the doctor panel', () => {
  it('runs the doctor for the running configuration and keeps its report', async () => {
    expect((await demo.call('GET', '/api/doctor')).json.status).toMatch(/idle|done/);
    const { status, json } = await demo.call('POST', '/api/doctor');
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'done', backend: demo.app.backend });
    expect(json.text).toContain('keyvault');
    const report = json.report;
    expect(report.ok).toBe(true);
    expect(report.host.kind).toBe('app-service');
    expect(report.identity.objectId).toBe(demo.stack.appIdentity.objectId);
    expect(report.resources.map((resource: { resource: string }) => resource.resource).sort()).toEqual(
      [...cardNames].sort(),
    );
    for (const resource of report.resources) expect(resource.status, resource.resource).toBe('pass');
    expect((await demo.call('GET', '/api/doctor')).json).toMatchObject({ status: 'done' });
  }, 90_000);
});

describe('the page', () => {
  it('is served with its scripts and stylesheet, from this server only', async () => {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/app.js', 'text/javascript'],
      ['/plots.js', 'text/javascript'],
      ['/doctor-panel.js', 'text/javascript'],
      ['/style.css', 'text/css'],
    ] as const) {
      const response = await fetch(`${demo.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
      // The SVG namespace is a name, not a request.
      const text = (await response.text()).replaceAll("'http://www.w3.org/2000/svg'", '');
      expect(text).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[a-z]/i);
    }
  });
});

describe('canaries', () => {
  it('finds no token and no secret value in any response body or log line', () => {
    expect(demo.stack.identity.issuedTokens().length).toBeGreaterThan(0);
    expect(demo.logs.length).toBeGreaterThan(0);
    expect(findCanaries(demo, demo.bodies.join('\n'))).toEqual([]);
    expect(findCanaries(demo, demo.logs.join('\n'))).toEqual([]);
  });
});
