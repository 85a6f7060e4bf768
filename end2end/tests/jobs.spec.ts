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

/// The server's view of a job (the same session's cookies).
async function serverJob(page: Page, id: string) {
  const response = await page.request.get(`/api/jobs/detail?id=${id}`);
  expect(response.status()).toBe(200);
  return (await response.json()) as {
    job: { state: string; label: string; progress: { done: number } };
    logs: { at_ms: number; text: string }[];
  };
}

/// The text of the log lines shown (without their times).
async function shownLines(page: Page) {
  return page.getByLabel('Log').locator('li .log-text').allTextContents();
}

test('cancel stops a running job', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const before = await rows(page).count();
  await startPipeline(page, 6, 300);
  await expect(rows(page)).toHaveCount(before + 1);
  const id = (await rows(page).first().getAttribute('data-id'))!;
  const row = page.locator(`li.job[data-id="${id}"]`);
  await expect(row.locator('.badge').first()).toHaveText('running');
  await expect.poll(async () => (await serverJob(page, id)).job.progress.done).toBeGreaterThanOrEqual(1);
  await row.getByRole('button', { name: /^Cancel/ }).click();
  await expect(row.locator('.badge').first()).toHaveText('cancelled', { timeout: 5_000 });
  await expect(row.getByRole('button', { name: /^Retry/ })).toBeVisible();
  const stopped = await row.getByRole('progressbar').getAttribute('aria-valuenow');
  const atCancel = await serverJob(page, id);
  expect(atCancel.job.state).toBe('cancelled');
  // Long enough for two more of its steps, measured by a job of the same steps that runs on.
  await startPipeline(page, 1, 300);
  const control = rows(page).first();
  await expect(control).not.toHaveAttribute('data-id', id);
  const controlId = (await control.getAttribute('data-id'))!;
  await expect.poll(async () => (await serverJob(page, controlId)).job.progress.done).toBeGreaterThanOrEqual(2);
  const later = await serverJob(page, id);
  expect(later.job.progress.done).toBe(atCancel.job.progress.done);
  expect(later.logs).toEqual(atCancel.logs);
  expect(await row.getByRole('progressbar').getAttribute('aria-valuenow')).toBe(stopped);
});

test('retry starts a cancelled job again, and the new one runs to its end', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const count = await rows(page).count();
  await startPipeline(page, 1, 400);
  await expect(rows(page)).toHaveCount(count + 1);
  const id = (await rows(page).first().getAttribute('data-id'))!;
  const original = page.locator(`li.job[data-id="${id}"]`);
  await expect(original.locator('.badge').first()).toHaveText('running');
  await original.getByRole('button', { name: /^Cancel/ }).click();
  await expect(original.locator('.badge').first()).toHaveText('cancelled');
  const before = await rows(page).count();

  await original.getByRole('button', { name: /^Retry/ }).click();
  await expect(rows(page)).toHaveCount(before + 1);
  const retried = rows(page).first();
  await expect(retried).not.toHaveAttribute('data-id', id);
  const retriedId = (await retried.getAttribute('data-id'))!;
  await expect(retried.locator('.badge').first()).toHaveText('succeeded', { timeout: 15_000 });
  await expect(retried.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  // The same kind and parameters, on the server too; the original stays cancelled.
  const job = (await serverJob(page, retriedId)).job as any;
  expect([job.kind, job.label, job.state]).toEqual(['pipeline', 'Pipeline of 1 stage', 'succeeded']);
  expect((await serverJob(page, id)).job.state).toBe('cancelled');
  await expect(original.locator('.badge').first()).toHaveText('cancelled');
});

test('the job page shows its log growing live while the job runs', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const count = await rows(page).count();
  await startPipeline(page, 3, 500);
  await expect(rows(page)).toHaveCount(count + 1);
  const id = (await rows(page).first().getAttribute('data-id'))!;
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect(page.locator('.connection-label')).toHaveText('live');
  // A full page load would wipe this: every line below arrives over the stream.
  await page.evaluate(() => ((window as any).__stayed = true));
  const log = page.getByLabel('Log');
  const text = async () => ((await log.count()) ? (await shownLines(page)).join('\n') : '');
  // 7.5 s of work: far from done when the page is shown.
  const first = await text();
  expect(first).not.toContain('stage 3 of 3 done');
  await expect(log).toContainText('fetch 5/5', { timeout: 10_000 });
  await expect(log).toContainText('stage: transform');
  await expect(log).toContainText('stage 3 of 3 done', { timeout: 15_000 });
  expect((await text()).split('\n').length).toBeGreaterThan(first.split('\n').length);
  await expect(page.locator('.badge').first()).toHaveText('succeeded');
  expect(await page.evaluate(() => (window as any).__stayed)).toBe(true);
  // The lines shown are the server's log, in order.
  const server = await serverJob(page, id);
  expect(await shownLines(page)).toEqual(server.logs.map((line) => line.text));
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

test('a shared job offers Cancel only to the session that started it', async ({ page, browser }) => {
  await page.goto('/');
  await hydrated(page);
  const form = pipelineForm(page);
  await form.getByLabel('Shared').check();
  await startPipeline(page, 6, 2000);
  const mine = rows(page).first();
  await expect(mine.locator('.shared-badge')).toBeVisible();
  await expect(mine.getByRole('button', { name: /^Cancel/ })).toBeVisible();
  const id = await mine.getAttribute('data-id');

  const stranger = await browser.newContext();
  const theirs = await stranger.newPage();
  await theirs.goto('/');
  await hydrated(theirs);
  const row = theirs.locator(`li.job[data-id="${id}"]`);
  await expect(row).toHaveCount(1);
  await expect(row.getByRole('button', { name: /^Cancel/ })).toHaveCount(0);
  const cancel = await theirs.request.post('/api/jobs/cancel', {
    form: { id: String(id) },
    headers: { accept: 'application/json' },
  });
  expect(cancel.status()).toBe(403);
  await stranger.close();

  await mine.getByRole('button', { name: /^Cancel/ }).click();
  await expect(mine.locator('.badge').first()).toHaveText('cancelled');
});

/// Starts a pipeline and waits for its row; returns the job's id.
async function startedPipeline(page: Page, stages: number, stepMs: number) {
  const before = await rows(page).count();
  await startPipeline(page, stages, stepMs);
  await expect(rows(page)).toHaveCount(before + 1);
  return (await rows(page).first().getAttribute('data-id'))!;
}

test('a row shows when its job started, how long it has run (ticking), and its parameters', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const id = await startedPipeline(page, 2, 500);
  const row = page.locator(`li.job[data-id="${id}"]`);
  await expect(row.locator('.badge').first()).toHaveText('running');
  const started = row.locator('time.job-started');
  await expect(started).toHaveText(/^started (just now|\d+ s ago)$/);
  const at = Date.parse((await started.getAttribute('datetime'))!);
  expect(Math.abs(at - Date.now())).toBeLessThan(60_000);
  await expect(started).toHaveAttribute('title', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  await expect(row.locator('.job-params')).toHaveText('stages=2, step_ms=500');
  // The running time counts up on its own, second by second.
  const duration = row.locator('.job-duration');
  const seconds = async () => Number(/^running for (\d+) s$/.exec((await duration.textContent()) ?? '')?.[1] ?? -1);
  await expect.poll(seconds).toBeGreaterThanOrEqual(1);
  await expect.poll(seconds).toBeGreaterThanOrEqual(3);
  // Finished, it says how long it ran, and stops counting.
  await expect(row.locator('.badge').first()).toHaveText('succeeded', { timeout: 20_000 });
  await expect(duration).toHaveText(/^ran \d+(\.\d)? s$/);
  const ran = await duration.textContent();
  // The clock ticks on ("started … ago" moves), a finished job's time does not.
  const startedText = await started.textContent();
  await expect(started).not.toHaveText(startedText!, { timeout: 10_000 });
  await expect(duration).toHaveText(ran!);
  // The server renders the same, for readers without JavaScript.
  const html = await (await page.request.get('/')).text();
  expect(html).toContain('stages=2, step_ms=500');
  expect(html).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+Z"[^>]*class="job-started"/);
});

test('the default primes job runs long enough to watch its bar move', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const before = await rows(page).count();
  const form = page.getByRole('form', { name: 'Count primes' });
  await form.getByRole('button', { name: 'Start primes' }).click();
  await expect(rows(page)).toHaveCount(before + 1);
  const row = rows(page).first();
  await expect(row.locator('.job-params')).toHaveText(`limit=${await form.getByLabel('Limit').inputValue()}`);
  // Every value the bar shows between its ends.
  await row.getByRole('progressbar').evaluate((bar) => {
    const seen = new Set<string>();
    (window as any).__seen = seen;
    new MutationObserver(() => {
      const value = bar.getAttribute('aria-valuenow');
      if (value && value !== '0' && value !== '100') seen.add(value);
    }).observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
  });
  await expect.poll(() => page.evaluate(() => (window as any).__seen.size), { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
  await expect(row.locator('.badge').first()).toHaveText('running');
  await row.getByRole('button', { name: /^Cancel/ }).click();
  await expect(row.locator('.badge').first()).toHaveText('cancelled');
});

test('log lines show the time they were written', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const id = await startedPipeline(page, 1, 100);
  await expect(page.locator(`li.job[data-id="${id}"] .badge`).first()).toHaveText('succeeded', { timeout: 15_000 });
  await page.goto(`/jobs/${id}`);
  const server = await serverJob(page, id);
  const shown = await page.getByLabel('Log').locator('li').evaluateAll((items) =>
    items.map((li) => ({
      datetime: li.querySelector('time')?.getAttribute('datetime') ?? '',
      time: li.querySelector('time')?.textContent ?? '',
      text: li.querySelector('.log-text')?.textContent ?? '',
    })),
  );
  expect(shown.map((line) => line.text)).toEqual(server.logs.map((line) => line.text));
  server.logs.forEach((line, i) => {
    expect(Date.parse(shown[i].datetime)).toBe(line.at_ms);
    expect(shown[i].time).toBe(new Date(line.at_ms).toISOString().slice(11, 19));
  });
  await expect(page.getByRole('heading', { name: /Log/ })).toContainText('times in UTC');
});

test('the log follows its tail unless the reader scrolled up, and again once back at the end', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 500 });
  await page.goto('/');
  await hydrated(page);
  // 6 stages of 5 steps, 7 lines a stage: 42 lines over 12 s.
  const id = await startedPipeline(page, 6, 400);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await expect(page.locator('.connection-label')).toHaveText('live');
  const log = page.getByLabel('Log');
  const lines = log.locator('li');
  const box = () => log.evaluate((el) => ({ top: el.scrollTop, height: el.scrollHeight, view: el.clientHeight }));
  const atEnd = async () => {
    const b = await box();
    return b.height - b.top - b.view <= 2;
  };
  const more = async (than: number) => expect.poll(() => lines.count(), { timeout: 10_000 }).toBeGreaterThan(than);
  // Enough lines that the box scrolls.
  await expect.poll(async () => { const b = await box(); return b.height - b.view; }, { timeout: 15_000 }).toBeGreaterThan(60);
  // Following: new lines come into view at the end.
  await more(await lines.count());
  await expect.poll(atEnd).toBe(true);
  await expect(page.locator('.tail-state')).toHaveText('Following new lines.');
  // Scrolled up: new lines arrive below, and what the reader looks at stays put.
  await log.evaluate((el) => { el.scrollTop = 0; });
  await expect(page.getByRole('button', { name: 'Jump to the latest' })).toBeVisible();
  await more((await lines.count()) + 1);
  expect((await box()).top).toBe(0);
  expect(await atEnd()).toBe(false);
  // Back at the end (by scrolling): it follows again.
  await log.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await expect(page.locator('.tail-state')).toHaveText('Following new lines.');
  await more(await lines.count());
  await expect.poll(atEnd).toBe(true);
  expect((await box()).top).toBeGreaterThan(0);
});

test('the job page names its job once', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const id = await startedPipeline(page, 1, 100);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  const label = 'Pipeline of 1 stage';
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(label);
  await expect(page.locator('main').getByText(label, { exact: true })).toHaveCount(1);
  await expect(page).toHaveTitle(`${label} · pulseboard`);
});

test('after Retry, focus stays on the Retry pressed while the new job arrives and runs', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const id = await startedPipeline(page, 1, 400);
  const original = page.locator(`li.job[data-id="${id}"]`);
  await expect(original.locator('.badge').first()).toHaveText('running');
  await original.getByRole('button', { name: /^Cancel/ }).click();
  await expect(original.locator('.badge').first()).toHaveText('cancelled');
  const before = await rows(page).count();
  const retry = original.getByRole('button', { name: /^Retry/ });
  await retry.focus();
  await page.keyboard.press('Enter');
  await expect(rows(page)).toHaveCount(before + 1);
  const retried = rows(page).first();
  await expect(retried).not.toHaveAttribute('data-id', id);
  await expect(retried.locator('.badge').first()).toHaveText('succeeded', { timeout: 15_000 });
  // Through the new row's arrival above it and the new job's whole run.
  await expect(retry).toBeFocused();
  expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('BUTTON');
});

test('Retry on the job page links to the new job and keeps focus', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  const id = await startedPipeline(page, 1, 400);
  await page.goto(`/jobs/${id}`);
  await hydrated(page);
  await page.getByRole('button', { name: /^Cancel/ }).click();
  await expect(page.locator('.badge').first()).toHaveText('cancelled');
  const retry = page.getByRole('button', { name: /^Retry/ });
  await retry.focus();
  await page.keyboard.press('Enter');
  const link = page.locator('p.retried').getByRole('link', { name: /^job \d+$/ });
  await expect(link).toBeVisible();
  await expect(retry).toBeFocused();
  await link.click();
  await expect(page).not.toHaveURL(new RegExp(`/jobs/${id}$`));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Pipeline of 1 stage');
  // A job's own page is in the Jobs section: the header marks Jobs (as the section, not the page).
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Jobs' })).toHaveAttribute('aria-current', 'location');
  await expect(nav.locator('a[aria-current]')).toHaveCount(1);
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
