import { test, expect, Page } from '@playwright/test';
import { bearer } from './token';

async function hydrated(page: Page) {
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
}

const rows = (page: Page) => page.locator('table.board tbody tr.quote');

test('prices change on screen and sparklines draw', async ({ page }) => {
  await page.goto('/markets');
  await hydrated(page);
  await expect(page.locator('.connection-label')).toHaveText('live');
  const last = rows(page).first().locator('td.last');
  const first = await last.textContent();
  await expect(last).not.toHaveText(first ?? '', { timeout: 15_000 });
  // A sparkline is a polyline of several points once a few seconds have passed.
  await expect.poll(async () => {
    const points = await rows(page).first().locator('svg.spark polyline').getAttribute('points');
    return (points ?? '').trim().split(/\s+/).filter(Boolean).length;
  }, { timeout: 15_000 }).toBeGreaterThan(1);
});

test('choosing symbols changes the rows, and the choice survives a reload', async ({ page }) => {
  await page.goto('/markets');
  await hydrated(page);
  const picker = page.getByRole('group', { name: 'Symbols' });
  const boxes = picker.getByRole('checkbox');
  const count = await boxes.count();
  expect(count).toBeGreaterThan(2);
  for (let i = 0; i < count; i++) await boxes.nth(i).uncheck();
  await picker.getByRole('checkbox', { name: 'ACME' }).check();
  await picker.getByRole('checkbox', { name: 'BOLT' }).check();
  await picker.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/symbols=ACME.*symbols=BOLT/);
  await expect(rows(page)).toHaveCount(2);
  await expect(rows(page).locator('th')).toHaveText(['ACME', 'BOLT']);
  await page.reload();
  await expect(rows(page)).toHaveCount(2);
  await hydrated(page);
  const last = rows(page).first().locator('td.last');
  const before = await last.textContent();
  await expect(last).not.toHaveText(before ?? '', { timeout: 15_000 });
});

test('columns sort, the whole column in order', async ({ page, request }) => {
  // Symbols of our own, fed through the ticks topic: the simulator never moves them, and their
  // prices are not in alphabetical order (a board left unsorted fails).
  const tag = String(Date.now() % 100000).padStart(5, '0');
  const prices: Record<string, number> = { A: 30, B: 10, C: 50, D: 20, E: 40 };
  const symbols = Object.keys(prices).map((letter) => `S${tag}${letter}`);
  for (const [i, symbol] of symbols.entries()) {
    const price = Object.values(prices)[i];
    const tick = { symbol, price, volume: 100 * (5 - i), timestamp: Date.now() };
    const response = await request.post('/api/publish?topic=ticks', {
      data: JSON.stringify(tick),
      headers: bearer(['ticks']),
    });
    expect(response.status(), await response.text()).toBe(200);
  }
  await page.goto(`/markets?${symbols.map((s) => `symbols=${s}`).join('&')}`);
  await hydrated(page);
  const last = rows(page).locator('td.last');
  const names = rows(page).locator('th');
  // Rendered by symbol first.
  await expect(names).toHaveText(symbols);
  await expect(last).toHaveText(['30.00', '10.00', '50.00', '20.00', '40.00']);

  const lastButton = page.getByRole('button', { name: /^Last(?! minute)/ });
  const lastHeader = page.getByRole('columnheader', { name: /^Last(?! minute)/ });
  await lastButton.click();
  await expect(lastHeader).toHaveAttribute('aria-sort', 'descending');
  await expect(last).toHaveText(['50.00', '40.00', '30.00', '20.00', '10.00']);
  await expect(names).toHaveText([symbols[2], symbols[4], symbols[0], symbols[3], symbols[1]]);
  await lastButton.click();
  await expect(lastHeader).toHaveAttribute('aria-sort', 'ascending');
  await expect(last).toHaveText(['10.00', '20.00', '30.00', '40.00', '50.00']);

  // Another column: volume, largest first, and back to symbols.
  await page.getByRole('button', { name: 'Volume', exact: true }).click();
  await expect(page.getByRole('columnheader', { name: /^Volume/ })).toHaveAttribute('aria-sort', 'descending');
  await expect(lastHeader).toHaveAttribute('aria-sort', 'none');
  await expect(rows(page).locator('td.volume')).toHaveText(['500', '400', '300', '200', '100']);
  await page.getByRole('button', { name: 'Symbol', exact: true }).click();
  await expect(names).toHaveText(symbols);
});

/// Publishes ticks of our own symbols through the ticks topic (the simulator never moves them).
async function publishTicks(request: import('@playwright/test').APIRequestContext, prices: Record<string, number>) {
  for (const [symbol, price] of Object.entries(prices)) {
    const tick = { symbol, price, volume: 100, timestamp: Date.now() };
    const response = await request.post('/api/publish?topic=ticks', {
      data: JSON.stringify(tick),
      headers: bearer(['ticks']),
    });
    expect(response.status(), await response.text()).toBe(200);
  }
}

test('sorted by a moving column, rows stay put under the pointer and re-sort later or on request', async ({ page, request }) => {
  const tag = String(Date.now() % 100000).padStart(5, '0');
  const [a, b, c] = ['A', 'B', 'C'].map((letter) => `R${tag}${letter}`);
  await publishTicks(request, { [a]: 10, [b]: 20, [c]: 30 });
  await page.goto(`/markets?symbols=${a}&symbols=${b}&symbols=${c}`);
  await hydrated(page);
  const names = rows(page).locator('th');
  await page.getByRole('button', { name: /^Last(?! minute)/ }).click();
  await expect(names).toHaveText([c, b, a]);
  await expect(page.locator('.sort-note')).toContainText('every 5 s');

  // The pointer rests on the board while the prices turn the order round.
  await page.locator('table.board tbody').hover();
  await publishTicks(request, { [a]: 50, [b]: 40, [c]: 5 });
  await expect(rows(page).locator('td.last')).toHaveText(['5.00', '40.00', '50.00']);
  // Longer than the cadence: the rows did not move.
  for (let i = 0; i < 14; i++) {
    expect(await names.allTextContents()).toEqual([c, b, a]);
    await page.waitForTimeout(500);
  }
  // Pointer off the board: the next round puts them in order by itself.
  await page.locator('h1').hover();
  await expect(names).toHaveText([a, b, c], { timeout: 8_000 });

  // "Sort now" does it at once. Focus on a row holds the order as the pointer does.
  await page.locator('table.board tbody').hover();
  await rows(page).first().getByRole('button', { name: /^Announce/ }).focus();
  await publishTicks(request, { [a]: 1, [b]: 2, [c]: 3 });
  await expect(rows(page).locator('td.last')).toHaveText(['1.00', '2.00', '3.00']);
  await page.waitForTimeout(5_500);
  await expect(names).toHaveText([a, b, c]);
  await page.getByRole('button', { name: 'Sort now' }).click();
  await expect(names).toHaveText([c, b, a], { timeout: 1_000 });
});

test('volume reads like a trading board', async ({ page }) => {
  await page.goto('/markets?symbols=ACME');
  await hydrated(page);
  const volume = rows(page).first().locator('td.volume');
  await expect(volume).toHaveText(/^\d+(\.\d+)? (k|M|B)$/, { timeout: 20_000 });
  await expect(volume).toHaveAttribute('title', /^\d+ traded this session$/);
});

test('the Announce control says what it does', async ({ page }) => {
  await page.goto('/markets?symbols=ACME');
  await hydrated(page);
  const announce = page.getByRole('button', { name: "Announce ACME's price" });
  await expect(announce).toHaveAccessibleDescription(/screen reader reads that symbol's price aloud/);
  await expect(page.getByRole('columnheader', { name: 'Screen reader' })).toBeVisible();
  await announce.click();
  await expect(announce).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('[aria-live="polite"].sr-only')).toHaveText(/^ACME \d+\.\d\d, [+-]\d+\.\d\d %$/, { timeout: 10_000 });
});

test('quote events carry the change, not the whole sparkline', async ({ page }) => {
  await page.goto('/markets?symbols=ACME');
  await hydrated(page);
  const events = await page.evaluate(
    () =>
      new Promise<any[]>((done) => {
        const source = new EventSource('/api/streams/quotes?symbols=ACME');
        const seen: any[] = [];
        source.addEventListener('quote', (e) => {
          seen.push(JSON.parse((e as MessageEvent).data));
          if (seen.length === 5) {
            source.close();
            done(seen);
          }
        });
      }),
  );
  for (const event of events) {
    expect(Object.keys(event).sort()).toEqual(['high', 'last', 'low', 'open', 'point', 'symbol', 'ts_ms', 'volume']);
  }
  // The snapshot still has the whole series.
  const snapshot = await (await page.request.get('/api/market/snapshot?symbols=ACME')).json();
  expect(snapshot.quotes[0].spark.length).toBeGreaterThan(1);
  expect(snapshot.session_secs).toBe(3600);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  test('the board holds current prices and sparklines', async ({ page }) => {
    await page.goto('/markets?symbols=CRUX');
    await expect(rows(page)).toHaveCount(1);
    await expect(rows(page).locator('td.last')).toHaveText(/^\d+\.\d\d$/);
    await expect(rows(page).locator('svg.spark polyline')).toHaveAttribute('points', /\d/);
  });
});
