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
  // Streams open on the instance's monitor topic (`monitor.samples.<instance>`), as the hub counts them.
  const monitorStreams = async () => {
    const perTopic = (await (await request.get('/api/debug/stats')).json()).subscribers_per_topic as Record<string, number>;
    return Object.entries(perTopic).filter(([topic]) => topic.startsWith('monitor.samples.')).reduce((sum, [, n]) => sum + n, 0);
  };
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

// The readout: a vertical line at the point under the pointer or the keyboard focus, and its time
// and values written in the page (a live region), in the chart's unit.
const readout = (page: Page, title: string) => chart(page, title).locator('.readout');

test('hovering a chart reads out the time and each value under the pointer', async ({ page }) => {
  await openMonitor(page, '/monitor?window=5');
  const events = chart(page, 'Events');
  await expect(readout(page, 'Events')).toBeHidden();
  const plot = events.locator('.plot');
  // The pointer can only be over what is in the viewport.
  await plot.scrollIntoViewIfNeeded();
  const box = (await plot.boundingBox())!;
  // Near the right end: the newest points.
  await page.mouse.move(box.x + box.width * 0.97, box.y + box.height / 2);
  const out = readout(page, 'Events');
  await expect(out).toBeVisible();
  await expect(out.locator('.readout-time')).toHaveText(/^\d\d:\d\d:\d\d · (now|\d+ s ago)$/);
  await expect(out.locator('li[data-series="published"] .value')).toHaveText(/^\d+(\.\d+)?k?\/s$/);
  await expect(out.locator('li[data-series="delivered"] .value')).toHaveText(/^\d+(\.\d+)?k?\/s$/);
  await expect(events.locator('line.readout-line')).toHaveCount(1);
  // Further left: an earlier time.
  const nearEnd = await out.locator('.readout-time').textContent();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await expect(out.locator('.readout-time')).not.toHaveText(nearEnd!);
  await expect(out.locator('.readout-time')).toHaveText(/ · (\d+ min )?\d+ s ago$|· \d+ min ago$/);
  // Percent charts read out in percent.
  await chart(page, 'CPU').locator('.plot').scrollIntoViewIfNeeded();
  const cpuBox = (await chart(page, 'CPU').locator('.plot').boundingBox())!;
  await page.mouse.move(cpuBox.x + cpuBox.width * 0.97, cpuBox.y + cpuBox.height / 2);
  await expect(readout(page, 'CPU').locator('li[data-series="total"] .value')).toHaveText(/^\d+(\.\d+)? %$/);
  await expect(out).toBeHidden();
  // The mouse leaves: the readout goes.
  await page.mouse.move(0, 0);
  await expect(readout(page, 'CPU')).toBeHidden();
});

test('a tap on a chart reads out too, and stays after the finger lifts', async ({ browser }) => {
  const touch = await browser.newContext({ hasTouch: true, viewport: { width: 390, height: 844 } });
  const page = await touch.newPage();
  await openMonitor(page, '/monitor?window=5');
  const plot = chart(page, 'Memory').locator('.plot');
  await plot.scrollIntoViewIfNeeded();
  const box = (await plot.boundingBox())!;
  await page.touchscreen.tap(box.x + box.width * 0.9, box.y + box.height / 2);
  await expect(readout(page, 'Memory').locator('li[data-series="used"] .value')).toHaveText(/^\d+(\.\d+)? %$/);
  await touch.close();
});

test('the keyboard focuses a chart and the arrow keys move its readout', async ({ page }) => {
  await openMonitor(page, '/monitor?window=5');
  const plot = chart(page, 'CPU').locator('.plot');
  await plot.focus();
  const out = readout(page, 'CPU');
  // Focus shows the newest point.
  await expect(out.locator('.readout-time')).toHaveText(/ · (now|\d+ s ago)$/);
  await expect(plot).toHaveAttribute('aria-describedby', await out.getAttribute('id') as string);
  const times: string[] = [(await out.locator('.readout-time').textContent())!];
  for (let n = 0; n < 3; n++) {
    await page.keyboard.press('ArrowLeft');
    times.push((await out.locator('.readout-time').textContent())!);
  }
  // Each step goes one point back: three different, earlier clock times.
  const clocks = times.map((t) => t.split(' · ')[0]);
  expect(new Set(clocks).size, clocks.join(', ')).toBe(4);
  expect([...clocks].sort().reverse()).toEqual(clocks);
  await page.keyboard.press('ArrowRight');
  await expect(out.locator('.readout-time')).toHaveText(new RegExp(`^${clocks[2]} `));
  await page.keyboard.press('Home');
  const oldest = (await out.locator('.readout-time').textContent())!.split(' · ')[0];
  expect(oldest < clocks[3]).toBe(true);
  await page.keyboard.press('Escape');
  await expect(out).toBeHidden();
  await page.keyboard.press('End');
  await expect(out).toBeVisible();
});

test('the legend hides and shows a series, and the axis fits what is shown', async ({ page }) => {
  await openMonitor(page, '/monitor?window=5');
  const events = chart(page, 'Events');
  const toggle = events.locator('.legend button', { hasText: 'delivered' });
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await expect(events.locator('polyline[data-series="delivered"]')).toHaveCount(1);
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await expect(events.locator('polyline[data-series="delivered"]')).toHaveCount(0);
  await expect(events.locator('polyline[data-series="published"]')).toHaveCount(1);
  // The hidden series is not read out either.
  await events.locator('.plot').focus();
  await expect(events.locator('.readout li[data-series="published"]')).toHaveCount(1);
  await expect(events.locator('.readout li[data-series="delivered"]')).toHaveCount(0);
  // Hiding every series leaves an axis of nothing: 0 to 1.
  await events.locator('.legend button', { hasText: 'published' }).click();
  await expect(events.locator('polyline')).toHaveCount(0);
  await expect(events.locator('.y-label')).toHaveText(['0/s', '1/s']);
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await expect(events.locator('polyline[data-series="delivered"]')).toHaveCount(1);
});

test('axis ticks are round numbers in the unit shown', async ({ page }) => {
  await openMonitor(page, '/monitor?window=5');
  // 1, 2 or 5 times a power of ten, every tick a whole multiple of the step, in one prefix.
  const round = (n: number) => {
    if (n === 0) return true;
    const mantissa = n / 10 ** Math.floor(Math.log10(n) + 1e-9);
    return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6);
  };
  for (const [title, pattern] of [
    ['CPU', /^(\d+(\.\d+)?) %$/],
    ['Network', /^(\d+(\.\d+)?) (B|KiB|MiB|GiB)\/s$/],
    ['Events', /^(\d+(\.\d+)?)(k|M|G)?\/s$/],
    ['Subscribers', /^(\d+(\.\d+)?)(k|M|G)?$/],
  ] as const) {
    const labels = await chart(page, title).locator('.y-label').allTextContents();
    expect(labels.length, `${title}: ${labels}`).toBeGreaterThanOrEqual(2);
    const parsed = labels.map((l) => l.match(pattern));
    expect(parsed.every((m) => m !== null), `${title}: ${labels}`).toBe(true);
    // One unit prefix on the whole axis.
    expect(new Set(labels.map((l) => l.replace(/^[\d.]+/, ''))).size, `${title}: ${labels}`).toBe(1);
    const values = parsed.map((m) => Number(m![1]));
    expect(values[0], `${title}: ${labels}`).toBe(0);
    const step = values[1] - values[0];
    expect(round(Number(step.toPrecision(6))), `${title} steps of ${step}: ${labels}`).toBe(true);
    values.forEach((v, k) => expect(Math.abs(v - k * step) < 1e-6, `${title}: ${labels}`).toBe(true));
  }
  await expect(chart(page, 'CPU').locator('.y-label')).toHaveText(['0 %', '20 %', '40 %', '60 %', '80 %', '100 %']);
});
