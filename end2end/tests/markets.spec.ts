import { test, expect, Page } from '@playwright/test';

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

test('columns sort', async ({ page }) => {
  await page.goto('/markets');
  await hydrated(page);
  await page.getByRole('button', { name: /^Last(?! minute)/ }).click();
  await expect(page.getByRole('columnheader', { name: /^Last(?! minute)/ })).toHaveAttribute('aria-sort', 'descending');
  const values = (await rows(page).locator('td.last').allTextContents()).map(Number);
  // Prices move between reads, but rows far apart in price keep their order.
  expect(values[0]).toBeGreaterThanOrEqual(values[values.length - 1]);
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
