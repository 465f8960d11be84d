import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardNames } from '../src/cards.ts';
import { launchChromium } from './browser-support.ts';
import { findCanaries, type RunningDemo, startDemo } from './support.ts';

// The plots through the outage button, with tokens that live 20 s: they refresh every few seconds,
// so the outage meets refreshes. A file of its own, with short tokens from the first request: the
// azure-identity backend's ManagedIdentityCredential keeps a process-wide token cache (MSAL's
// static one), so a demo that already holds 24-hour tokens would be handed those again.
const screenshots = fileURLToPath(new URL('../test-output/screenshots/', import.meta.url));

let demo: RunningDemo;
let browser: Browser;
let page: Page;
const pageText: string[] = [];

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  demo = await startDemo('azure-identity');
  // Before the first token request: the app's factories do no I/O.
  demo.stack.identity.setTokenLifetime(20);
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

const sqlCard = () => page.locator('[data-card="sql"]');

/** The identity-endpoint requests the page's plot counts for the SQL card over its window. */
async function sqlIdentityRequests(): Promise<number> {
  const series = sqlCard().locator('svg[data-plot="activity"] polyline[data-series="identityRequests"]');
  return Number(await series.getAttribute('data-total'));
}

/** Times of the SQL card's token events of these types, as the timeline marks them. */
function sqlEventTimes(types: string[]): Promise<number[]> {
  const selector = types.map((type) => `svg[data-plot="token-timeline"] [data-event="${type}"]`).join(', ');
  return sqlCard()
    .locator(selector)
    .evaluateAll((marks) => marks.map((mark) => Number(mark.getAttribute('data-at'))));
}

async function expectEveryCardHealthy() {
  for (const name of cardNames) {
    await page.locator(`[data-card="${name}"] dd.status.healthy`).waitFor({ timeout: 60_000 });
  }
}

describe('the plots through an identity outage (20-second tokens)', () => {
  it('shows refreshes on every card before the outage', async () => {
    await page.goto(demo.url);
    await expectEveryCardHealthy();
    await expect
      .poll(() => sqlEventTimes(['refreshed']).then((times) => times.length), { timeout: 45_000 })
      .toBeGreaterThan(0);
  }, 90_000);

  it('marks the outage, the failed refreshes and the refused requests, then the recovery', async () => {
    const refusedBefore = demo.stack.identity.counters.refusedConnections;
    const requestsBefore = await sqlIdentityRequests();
    const clickedAt = Date.now();
    await page.click('button[data-action="identity-outage"]');
    await page.locator('#outage').waitFor({ state: 'visible' });
    // The outage's band on both of the card's plots.
    await expect.poll(() => sqlCard().locator('rect.outage-band').count(), { timeout: 10_000 }).toBe(2);
    // The background refresh fails on the reset connection: marked on the timeline, counted on the plot.
    await expect
      .poll(
        () => sqlEventTimes(['refresh-failed']).then((times) => times.filter((at) => at >= clickedAt).length),
        {
          timeout: 45_000,
          message: "a failed refresh on the SQL card's timeline",
        },
      )
      .toBeGreaterThan(0);
    expect(demo.stack.identity.counters.refusedConnections).toBeGreaterThan(refusedBefore);
    await expect.poll(() => sqlIdentityRequests(), { timeout: 10_000 }).toBeGreaterThan(requestsBefore);
    await page.screenshot({ path: `${screenshots}05-outage-plotted.png`, fullPage: true });

    const endedAt = Date.now();
    await demo.call('DELETE', '/api/local/identity-outage');
    await page.locator('#outage').waitFor({ state: 'hidden' });
    // After the outage the token comes through: a refresh (or a new token) marked after the end.
    await expect
      .poll(
        () =>
          sqlEventTimes(['refreshed', 'acquired']).then(
            (times) => times.filter((at) => at >= endedAt).length,
          ),
        { timeout: 60_000 },
      )
      .toBeGreaterThan(0);
    await expectEveryCardHealthy();
    // The band ends where the outage was ended early.
    const width = await sqlCard()
      .locator('svg[data-plot="token-timeline"] rect.outage-band')
      .getAttribute('width');
    expect(Number(width)).toBeGreaterThan(0);
    await page.screenshot({ path: `${screenshots}06-outage-recovered.png`, fullPage: true });
  }, 180_000);

  it('never shows a token or a secret value', async () => {
    const html = await page.content();
    expect(findCanaries(demo, `${html}\n${pageText.join('\n')}`)).toEqual([]);
  });
});
