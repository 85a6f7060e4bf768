import { test, expect, Page } from '@playwright/test';

async function hydrated(page: Page) {
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
}

function pipelineForm(page: Page) {
  return page.getByRole('form', { name: 'Run a pipeline' });
}

async function startPipeline(page: Page, stages: number, stepMs: number) {
  const form = pipelineForm(page);
  await form.getByLabel('Stages').fill(String(stages));
  await form.getByLabel('Step (ms)').fill(String(stepMs));
  await form.getByRole('button', { name: 'Start pipeline' }).click();
}

const rows = (page: Page) => page.locator('ul.job-list > li.job');

test('a started job is watched live until its bar reaches 100 %', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const before = await rows(page).count();
  await startPipeline(page, 2, 150);
  await expect(rows(page)).toHaveCount(before + 1);
  const row = rows(page).first();
  const bar = row.getByRole('progressbar');
  await expect(bar).toHaveAttribute('aria-valuenow', /^[1-9]/, { timeout: 10_000 });
  await expect(row.locator('.badge').first()).toHaveText('running');
  await expect(bar).toHaveAttribute('aria-valuenow', '100', { timeout: 20_000 });
  await expect(row.locator('.badge').first()).toHaveText('succeeded');
  await expect(row.locator('.job-outcome')).toContainText('2 stages, final digest');
  // The state change was announced to screen readers.
  await expect(page.locator('[aria-live="polite"].sr-only')).toHaveText(/Pipeline of 2 stages: succeeded/);
});

test('cancel stops a running job', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await startPipeline(page, 6, 1000);
  const row = rows(page).first();
  await expect(row.locator('.badge').first()).toHaveText('running');
  await row.getByRole('button', { name: /^Cancel/ }).click();
  await expect(row.locator('.badge').first()).toHaveText('cancelled', { timeout: 5_000 });
  await expect(row.getByRole('button', { name: /^Retry/ })).toBeVisible();
  const stopped = await row.getByRole('progressbar').getAttribute('aria-valuenow');
  await page.waitForTimeout(1500);
  expect(await row.getByRole('progressbar').getAttribute('aria-valuenow')).toBe(stopped);
});

test('a bad parameter is reported beside its field', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const form = page.getByRole('form', { name: 'Count primes' });
  await form.getByLabel('Limit').fill('lots');
  await form.getByRole('button', { name: 'Start primes' }).click();
  await expect(form.locator('#limit-error')).toHaveText('must be a whole number');
});

test('reloading mid-job renders the bar at its current value, never back to 0', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await startPipeline(page, 4, 400);
  const bar = rows(page).first().getByRole('progressbar');
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow') ?? 0), { timeout: 10_000 }).toBeGreaterThanOrEqual(20);
  const seen = Number(await bar.getAttribute('aria-valuenow'));
  // What the server renders, before any script: the same session's page HTML.
  const html = await (await page.request.get('/')).text();
  const rendered = Number(/aria-valuenow="(\d+)"/.exec(html)?.[1] ?? '0');
  expect(rendered).toBeGreaterThanOrEqual(seen);
  await page.reload();
  expect(Number(await rows(page).first().getByRole('progressbar').getAttribute('aria-valuenow'))).toBeGreaterThanOrEqual(seen);
  await hydrated(page);
  await expect(rows(page).first().getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100', { timeout: 20_000 });
});

test('a job started in one tab moves live in another tab of the same session', async ({ context }) => {
  const first = await context.newPage();
  const second = await context.newPage();
  await second.goto('/');
  await hydrated(second);
  await expect(second.locator('.connection-label')).toHaveText('live');
  const before = await rows(second).count();
  await first.goto('/');
  await hydrated(first);
  await startPipeline(first, 1, 300);
  await expect(rows(second)).toHaveCount(before + 1);
  await expect(rows(second).first().locator('.badge').first()).toHaveText('succeeded', { timeout: 15_000 });
});

test('another session can neither see nor open a private job', async ({ page, browser }) => {
  await page.goto('/');
  await hydrated(page);
  await startPipeline(page, 1, 100);
  const id = await rows(page).first().getAttribute('data-id');
  expect(id).toBeTruthy();

  const stranger = await browser.newContext();
  const theirs = await stranger.newPage();
  await theirs.goto('/');
  await expect(theirs.locator(`li.job[data-id="${id}"]`)).toHaveCount(0);
  const response = await theirs.goto(`/jobs/${id}`);
  expect(response?.status()).toBe(404);
  await expect(theirs.getByRole('heading', { level: 1 })).toHaveText('Job not found');
  const cancel = await theirs.request.post('/api/jobs/cancel', {
    form: { id: String(id) },
    headers: { accept: 'application/json' },
  });
  expect(cancel.status()).toBe(404);
  await stranger.close();

  // The owner opens it and sees its log.
  const mine = await page.goto(`/jobs/${id}`);
  expect(mine?.status()).toBe(200);
  await expect(page.getByLabel('Log')).toContainText('stage: fetch');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('jobs can be listed, started and cancelled with plain forms', async ({ page }) => {
    await page.goto('/');
    const before = await rows(page).count();
    await startPipeline(page, 6, 2000);
    await expect(page).toHaveURL(/\/\??$/);
    await expect(rows(page)).toHaveCount(before + 1);
    const row = rows(page).first();
    await expect(row.locator('.badge').first()).toHaveText(/queued|running/);
    await row.getByRole('button', { name: /^Cancel/ }).click();
    await expect(page).toHaveURL(/\/\??$/);
    await expect(async () => {
      await page.reload();
      await expect(rows(page).first().locator('.badge').first()).toHaveText('cancelled', { timeout: 500 });
    }).toPass({ timeout: 10_000 });
  });

  test('a bad parameter is shown beside its field after the redirect', async ({ page }) => {
    await page.goto('/');
    const form = pipelineForm(page);
    await form.getByLabel('Stages').fill('0');
    await form.getByRole('button', { name: 'Start pipeline' }).click();
    await expect(page.locator('#stages-error')).toHaveText('must be between 1 and 6');
  });
});
