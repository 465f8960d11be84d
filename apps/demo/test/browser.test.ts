import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardNames } from '../src/cards.ts';
import { launchChromium } from './browser-support.ts';
import { findCanaries, type RunningDemo, startDemo } from './support.ts';

const screenshots = fileURLToPath(new URL('../test-output/screenshots/', import.meta.url));

let demo: RunningDemo;
let browser: Browser;
let page: Page;
const pageText: string[] = [];

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  demo = await startDemo('azure-identity');
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1360, height: 1100 } });
  page.on('response', async (response) => {
    if (response.url().includes('/api/')) pageText.push(await response.text().catch(() => ''));
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

async function expectEveryCardHealthy(backend: string) {
  for (const name of cardNames) {
    const card = page.locator(`[data-card="${name}"]`);
    await card.locator('dd.status.healthy').waitFor();
    await expect.poll(() => card.locator('dd.backend').textContent()).toBe(backend);
    expect(await card.locator('dd.expiry').textContent()).toMatch(/^\d+h \d\dm \d\ds$/);
  }
}

/** Each card's two plots are drawn, with data points in the activity plot and markers on the timeline. */
async function expectPlotsDrawn() {
  for (const name of cardNames) {
    const card = page.locator(`[data-card="${name}"]`);
    const operations = card.locator('svg[data-plot="activity"] polyline[data-series="operations"]');
    await expect
      .poll(() => operations.getAttribute('data-points').then(Number), { timeout: 10_000 })
      .toBeGreaterThan(1);
    await expect
      .poll(() => operations.getAttribute('data-total').then(Number), { timeout: 10_000, message: name })
      .toBeGreaterThan(0);
    for (const series of ['identityRequests', 'keyVaultRequests']) {
      const points = await card
        .locator(`svg[data-plot="activity"] polyline[data-series="${series}"]`)
        .getAttribute('data-points');
      expect(Number(points), `${name} ${series}`).toBeGreaterThan(1);
    }
    // The page redraws every 2 s: a token acquired just after a redraw shows at the next one, so this
    // waits as long as the polls above (a 1 s default failed a CI run). The message holds what the
    // server had, to tell a missing event from a missed redraw.
    await expect
      .poll(() => card.locator('svg[data-plot="token-timeline"] [data-event="acquired"]').count(), {
        timeout: 10_000,
        message: `${name}: ${JSON.stringify((await demo.call('GET', '/api/metrics')).json.tokenEvents)}`,
      })
      .toBeGreaterThan(0);
  }
}

async function clickAndRead(action: string, result: string, expected: RegExp) {
  await page.click(`button[data-action="${action}"]`);
  const output = page.locator(`[data-testid="result-${result}"]`);
  await expect.poll(() => output.textContent(), { timeout: 10_000 }).toMatch(expected);
}

async function everyActionWorks() {
  await page.fill('#blob-content', 'written by the browser test');
  await clickAndRead('blob-upload', 'blob', /"name": "from-the-page.txt"/);
  await clickAndRead('blob-download', 'blob', /written by the browser test/);
  await clickAndRead('keyvault-secret', 'keyvault', /"version": "[0-9a-f]{32}"/);
  await clickAndRead('sql-whoami', 'sql', /"login": "keyless-app"/);
  await clickAndRead('postgres-query', 'postgres', /"user": "keyless_app"/);
  await clickAndRead('redis-incr', 'redis', /"value": \d+/);
}

describe('the dashboard in Chromium', () => {
  it('shows every card healthy, with backend, identity and token countdown', async () => {
    await page.goto(demo.url);
    await expectEveryCardHealthy('azure-identity');
    expect(await page.locator('#summary').textContent()).toContain('local mode');
    await page.screenshot({ path: `${screenshots}01-healthy.png`, fullPage: true });
  });

  it("draws each card's plots without a CDN: activity per second and the token timeline", async () => {
    await expectPlotsDrawn();
    // Every script the page loaded came from this server.
    const scripts = await page.evaluate(() =>
      performance.getEntriesByType('resource').map((entry) => entry.name),
    );
    expect(scripts.every((url) => url.startsWith(demo.url))).toBe(true);
  });

  it('runs every card action and shows its result, the secret masked', async () => {
    await everyActionWorks();
    const secret = await page.locator('[data-testid="result-keyvault"]').textContent();
    expect(secret).toContain('"length": 45');
    expect(secret).toContain('••••••••');
    await page.screenshot({ path: `${screenshots}02-actions.png`, fullPage: true });
  });

  it('survives both password rotations', async () => {
    await page.click('button[data-action="rotate-postgres"]');
    await expect.poll(() => page.locator('#local-result').textContent()).toMatch(/PostgreSQL password: done/);
    await clickAndRead('postgres-query', 'postgres', /"user": "keyless_app"/);
    await page.click('button[data-action="rotate-redis"]');
    await expect.poll(() => page.locator('#local-result').textContent()).toMatch(/Redis password: done/);
    await clickAndRead('redis-incr', 'redis', /"value": \d+/);
    await expect
      .poll(() => page.locator('[data-card="postgres"] .facts').textContent())
      .toMatch(/refused logins handled\s*1/);
    await expectEveryCardHealthy('azure-identity');
    await page.screenshot({ path: `${screenshots}03-rotated.png`, fullPage: true });
  });

  it('switches the token backend live to MSAL', async () => {
    await page.selectOption('#backend', 'msal');
    await expect.poll(() => page.locator('#backend-label').textContent()).toBe('msal');
    await expectEveryCardHealthy('msal');
  });

  it('survives an identity endpoint outage: every card keeps working from cached tokens', async () => {
    await page.click('button[data-action="identity-outage"]');
    await page.locator('#outage').waitFor({ state: 'visible' });
    expect(await page.locator('#outage').textContent()).toContain('identity endpoint down');
    await everyActionWorks();
    await expectEveryCardHealthy('msal');
    await page.screenshot({ path: `${screenshots}04-outage-survived.png`, fullPage: true });
    await demo.call('DELETE', '/api/local/identity-outage');
  });

  it("shows the doctor's report for the running configuration", async () => {
    await page.click('#doctor-run');
    const verdict = page.locator('[data-testid="doctor-verdict"]');
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.textContent()).toContain('everything needed works');
    for (const name of cardNames) {
      const row = page.locator(`#doctor-report tr[data-resource="${name}"]`);
      expect(await row.locator('td.doctor-status').textContent(), name).toBe('pass');
    }
    expect(await page.locator('#doctor-status').textContent()).toMatch(/checked at .* with the msal backend/);
    await page.screenshot({ path: `${screenshots}07-doctor.png`, fullPage: true });
  }, 90_000);

  it('shows a failing check in the doctor panel with its cause and fix', async () => {
    demo.stack.keyVault?.removeRole(demo.stack.appIdentity.objectId);
    try {
      await page.click('#doctor-run');
      await expect
        .poll(() => page.locator('[data-testid="doctor-verdict"]').textContent(), { timeout: 60_000 })
        .toContain('something needs fixing');
      const failure = page.locator('#doctor-report .doctor-failure[data-code="authorization"]').first();
      await failure.waitFor();
      const text = await failure.textContent();
      expect(text).toContain('cause:');
      expect(text).toMatch(/fix:\s+.*az role assignment create/);
      expect(text).toContain('Key Vault Secrets User');
      await page.screenshot({ path: `${screenshots}08-doctor-failure.png`, fullPage: true });
    } finally {
      demo.stack.keyVault?.assignRole(demo.stack.appIdentity.objectId, 'Key Vault Secrets User');
    }
  }, 90_000);

  it('never shows a token or a secret value', async () => {
    const html = await page.content();
    expect(findCanaries(demo, `${html}\n${pageText.join('\n')}`)).toEqual([]);
  });
});
