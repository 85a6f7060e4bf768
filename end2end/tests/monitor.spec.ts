import { test, expect, Page } from '@playwright/test';

// The monitor page: gauges and charts of the server's own samples, server-rendered, then live
// over one latest-wins stream.

const chart = (page: Page, title: string) => page.locator('figure.chart', { has: page.locator('figcaption', { hasText: title }) });
const gauge = (page: Page, label: string) => page.locator('figure.gauge', { has: page.locator('.gauge-label', { hasText: label }) });

async function openMonitor(page: Page, path = '/monitor') {
  await page.goto(path);
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('.connection-label')).toHaveText('live');
}

test('without JavaScript the page holds real values and charted points', async ({ browser }) => {
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const page = await noJs.newPage();
  const response = await page.goto('/monitor');
  expect(response?.status()).toBe(200);
  await expect(gauge(page, 'CPU').locator('.gauge-value')).toHaveText(/^\d+(\.\d+)? %$/);
  await expect(gauge(page, 'Memory').locator('.gauge-detail')).toHaveText(/i?B of \d+(\.\d+)? GiB$/);
  await expect(gauge(page, 'CPU')).toHaveAttribute('data-level', /^(ok|warn|critical)$/);
  await expect(page.locator('td[data-figure="threads"]')).toHaveText(/^\d+$/);
  await expect(page.locator('ol.cores li').first()).toContainText('cpu0');
  const cpu = chart(page, 'CPU');
  await expect(cpu).toHaveAttribute('data-span-min', '15');
  expect(Number(await cpu.locator('polyline').getAttribute('data-points'))).toBeGreaterThan(0);
  await noJs.close();
});

test('charts and gauges update as samples arrive', async ({ page }) => {
  await openMonitor(page, '/monitor?window=5');
  const cpu = chart(page, 'CPU');
  const line = cpu.locator('polyline');
  expect(Number(await line.getAttribute('data-points'))).toBeGreaterThan(0);
  const end = await cpu.getAttribute('data-end-ms');
  const drawn = await line.getAttribute('points');
  // A new sample every second: the chart's end moves and the line is redrawn.
  await expect.poll(() => cpu.getAttribute('data-end-ms'), { timeout: 5_000 }).not.toBe(end);
  await expect.poll(() => line.getAttribute('points'), { timeout: 5_000 }).not.toBe(drawn);
  const uptime = page.locator('td[data-figure="uptime"]');
  const before = await uptime.textContent();
  await expect.poll(() => uptime.textContent(), { timeout: 5_000 }).not.toBe(before);
});

test('the window selector changes the charted range, in the client', async ({ page }) => {
  await openMonitor(page);
  await page.evaluate(() => ((window as any).__stayed = true));
  const cpu = chart(page, 'CPU');
  await expect(cpu).toHaveAttribute('data-span-min', '15');
  await expect(cpu.locator('.x-label')).toHaveText(['now', '−5 min', '−10 min', '−15 min']);

  const choice = page.getByRole('navigation', { name: 'Time window' });
  await choice.getByRole('link', { name: '1 h', exact: true }).click();
  await expect(page).toHaveURL(/\/monitor\?window=60$/);
  await expect(choice.getByRole('link', { name: '1 h', exact: true })).toHaveAttribute('aria-current', 'true');
  await expect(cpu).toHaveAttribute('data-span-min', '60');
  await expect(cpu.locator('.x-label')).toHaveText(['now', '−15 min', '−30 min', '−45 min', '−1 h']);
  expect(Number(await cpu.locator('polyline').getAttribute('data-points'))).toBeGreaterThan(0);
  await expect(page.locator('.connection-label')).toHaveText('live');

  await choice.getByRole('link', { name: '5 min', exact: true }).click();
  await expect(cpu).toHaveAttribute('data-span-min', '5');
  await expect(cpu.locator('.x-label')).toHaveText(['now', '−1 min', '−2 min', '−3 min', '−4 min', '−5 min']);
  expect(await page.evaluate(() => (window as any).__stayed)).toBe(true);
});

test('all panels share one stream, closed when the page is left', async ({ page, request }) => {
  // Streams open on the monitor topic, as the hub counts them.
  const monitorStreams = async () =>
    ((await (await request.get('/api/debug/stats')).json()).subscribers_per_topic['monitor.samples'] ?? 0) as number;
  // Pages of earlier tests are closed; their streams end at the next sample.
  await expect.poll(monitorStreams).toBe(0);
  await openMonitor(page);
  // The gauges and the charts each subscribe to the sample stream from the snapshot's id. Once
  // both have drawn a live sample, both subscriptions are open: one connection between them.
  const cpu = chart(page, 'CPU');
  const uptime = page.locator('td[data-figure="uptime"]');
  const [end, up] = [await cpu.getAttribute('data-end-ms'), await uptime.textContent()];
  await expect.poll(() => cpu.getAttribute('data-end-ms'), { timeout: 5_000 }).not.toBe(end);
  await expect.poll(() => uptime.textContent(), { timeout: 5_000 }).not.toBe(up);
  expect(await monitorStreams()).toBe(1);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Jobs');
  await expect.poll(monitorStreams).toBe(0);
});

async function setVisibility(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, 'visibilityState', { value: hidden ? 'hidden' : 'visible', configurable: true });
    Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('a tab shown again gets the newest sample, not the backlog', async ({ page, request }) => {
  const conflated = async () => {
    const text = await (await request.get('/metrics')).text();
    const line = text.split('\n').find((l) => l.startsWith('pulseboard_hub_events_conflated_total '));
    return Number(line?.split(' ').pop());
  };
  await openMonitor(page, '/monitor?window=5');
  const cpu = chart(page, 'CPU');
  await setVisibility(page, true);
  await expect(page.locator('.connection-label')).toHaveText('paused');
  const hiddenAt = Number(await cpu.getAttribute('data-end-ms'));
  // Every value the chart's end takes from now on, in order (several changes within one task
  // arrive as several records, each with the value before it).
  await page.evaluate(() => {
    const figure = [...document.querySelectorAll('figure.chart')].find((f) => f.querySelector('figcaption')?.textContent?.includes('CPU'))!;
    const w = window as any;
    w.__endsBefore = [];
    w.__ends = () => [...w.__endsBefore.slice(1), Number(figure.getAttribute('data-end-ms'))];
    new MutationObserver((records) => {
      for (const record of records) w.__endsBefore.push(Number(record.oldValue));
    }).observe(figure, { attributes: true, attributeFilter: ['data-end-ms'], attributeOldValue: true });
  });
  // Away until the server has taken three more samples.
  const newest = async () => (await (await request.get('/api/monitor/snapshot?window=5')).json()).latest.at_ms as number;
  await expect.poll(newest, { timeout: 10_000 }).toBeGreaterThanOrEqual(hiddenAt + 3_000);
  const before = await conflated();
  await setVisibility(page, false);
  await expect(page.locator('.connection-label')).toHaveText('live');
  // Resumed after the last sample seen: the samples taken meanwhile were skipped but one.
  await expect.poll(conflated).toBeGreaterThanOrEqual(before + 2);
  await expect.poll(() => cpu.getAttribute('data-end-ms')).not.toBe(String(hiddenAt));
  // The first sample drawn is the newest (samples are 1 s apart, three or more were taken while
  // hidden; a replayed backlog would start 1 s after the last one seen), then live ones follow.
  const ends = async () => (await page.evaluate(() => (window as any).__ends())) as number[];
  await expect.poll(async () => (await ends()).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
  const [first, second] = await ends();
  expect(first - hiddenAt, `first sample ${first - hiddenAt} ms after the last one seen`).toBeGreaterThanOrEqual(3_000);
  expect(second - first).toBeGreaterThan(0);
  expect(second - first).toBeLessThan(2_000);
});

test('metrics, health and readiness endpoints answer', async ({ request }) => {
  const metrics = await request.get('/metrics');
  expect(metrics.status()).toBe(200);
  expect(await metrics.text()).toContain('# TYPE pulseboard_hub_events_published_total counter');
  expect((await request.get('/healthz')).status()).toBe(200);
  const ready = await request.get('/readyz');
  expect(ready.status()).toBe(200);
  expect(await ready.json()).toEqual({ ready: true, checks: { hub: 'ok', database: 'ok' } });
});
