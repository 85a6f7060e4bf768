import { test, expect } from '@playwright/test';

const pages = [
  { path: '/', heading: 'Jobs' },
  { path: '/markets', heading: 'Markets' },
  { path: '/monitor', heading: 'Monitor' },
];

test.describe('server-rendered pages without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  for (const { path, heading } of pages) {
    test(`${path} holds its content before any script runs`, async ({ page }) => {
      const response = await page.goto(path);
      expect(response?.status()).toBe(200);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
      await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link')).toHaveText([
        'Jobs', 'Markets', 'Monitor', 'Inspector',
      ]);
      // Nothing hydrated the page, and these are values hydration changes: the client's marker,
      // the connection indicator (every page opens a stream once hydrated: "connecting", then
      // "live") and the theme toggle, whose click handler runs synchronously once hydrated.
      await expect(page.locator('.app')).not.toHaveAttribute('data-hydrated', 'true');
      await expect(page.locator('.connection-label')).toHaveText('idle');
      const toggle = page.getByRole('button', { name: 'Dark theme' });
      await expect(toggle).toHaveAttribute('aria-pressed', 'false');
      await toggle.click();
      expect(await page.locator('.app').getAttribute('data-theme')).toBe('light');
      expect(await toggle.getAttribute('aria-pressed')).toBe('false');
      await expect(page.getByRole('button', { name: 'Light theme' })).toHaveCount(0);
    });
  }
});

test('hydration makes the page interactive', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  const toggle = page.getByRole('button', { name: 'Dark theme' });
  await toggle.click();
  await expect(page.locator('.app')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('button', { name: 'Light theme' })).toHaveAttribute('aria-pressed', 'true');
});

test('navigation between the three pages happens in the client', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  // A full page load would wipe this.
  await page.evaluate(() => ((window as any).__stayed = true));
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const { path, heading } of [pages[1], pages[2], pages[0]]) {
    await nav.getByRole('link', { name: heading }).click();
    await expect(page).toHaveURL(path);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
    await expect(nav.getByRole('link', { name: heading })).toHaveAttribute('aria-current', 'page');
  }
  expect(await page.evaluate(() => (window as any).__stayed)).toBe(true);
});

test('unknown paths get the 404 page with status 404', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
  await page.getByRole('link', { name: 'Markets' }).last().click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Markets');
});
