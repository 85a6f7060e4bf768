import { test, expect, Page, BrowserContext, APIRequestContext, Request } from '@playwright/test';
import { bearer } from './token';

// Many tabs of one browser profile share one connection per stream (Web Locks pick the tab that
// holds it, or, where the browser has none, an election over the BroadcastChannel; the channel
// hands its events to the others), and a connection that goes silent is replaced. All tabs here
// are pages of ONE context (one profile) over plain HTTP/1.1.

const port = Number(process.env.E2E_PORT ?? 3100);
// The spec's own requests (publish, stats) come from Node, which knows the server by its loopback
// address only, whatever name the browser uses.
const api = `http://127.0.0.1:${port}`;

const hydrated = (page: Page) => expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
const indicator = (page: Page) => page.locator('.connection-label');
const shownData = (page: Page) => page.locator('ol.events .event-data');

function uniqueTopic(name: string) {
  return `e2e.tabs.${name}.${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
}

/// The one place the spec publishes, with a publish token for the topic.
async function publish(request: APIRequestContext, topic: string, data: string) {
  const response = await request.post(`${api}/api/publish?topic=${encodeURIComponent(topic)}`, {
    data,
    headers: bearer([topic]),
  });
  expect(response.status()).toBe(200);
  return (await response.json()).id as string;
}

/// Event-stream requests of a context, as the browser makes them: which are open now, the most
/// open at once per stream URL, and which page made each.
function watchStreams(context: BrowserContext) {
  const open = new Map<Request, { url: string; page: Page | null; at: number }>();
  const most = new Map<string, number>();
  const started: { url: string; page: Page | null; at: number }[] = [];
  // Pages being closed by the test. Closing releases the page's lock at once, so the tab taking
  // over may connect before Playwright reports the old page closed or its request ended; a
  // request of a page that is going away does not count as open.
  const leaving = new Set<Page>();
  const live = () => [...open.values()].filter((r) => !r.page?.isClosed() && !(r.page && leaving.has(r.page)));
  const openFor = (url: string) => live().filter((r) => r.url === url).length;
  context.on('request', (request) => {
    if (!request.url().includes('/api/streams/')) return;
    const entry = { url: request.url(), page: request.frame()?.page() ?? null, at: Date.now() };
    open.set(request, entry);
    started.push(entry);
    most.set(entry.url, Math.max(most.get(entry.url) ?? 0, openFor(entry.url)));
  });
  const done = (request: Request) => open.delete(request);
  context.on('requestfinished', done);
  context.on('requestfailed', done);
  return {
    openUrls: () => live().map((r) => r.url),
    openPages: () => live().map((r) => r.page),
    most,
    started,
    /// Closes a page, its requests counted as ended from the moment it starts going away.
    close: async (page: Page) => {
      leaving.add(page);
      await page.close();
    },
  };
}

async function openLive(context: BrowserContext, path: string) {
  const page = await context.newPage();
  await page.goto(path);
  await hydrated(page);
  await expect(indicator(page)).toHaveText('live', { timeout: 20_000 });
  return page;
}

/// Whether the page is a secure context and has the Web Locks API, as the app sees it.
const webLocks = (page: Page) =>
  page.evaluate(() => ({ secure: isSecureContext, locks: typeof (navigator as { locks?: unknown }).locks }));
const withWebLocks = async (page: Page) => expect(await webLocks(page)).toEqual({ secure: true, locks: 'object' });
const withoutWebLocks = async (page: Page) => expect(await webLocks(page)).toEqual({ secure: false, locks: 'undefined' });

async function startPipeline(page: Page, stages: number, stepMs: number) {
  const form = page.getByRole('form', { name: 'Run a pipeline' });
  await form.getByLabel('Stages').fill(String(stages));
  await form.getByLabel('Step (ms)').fill(String(stepMs));
  await form.getByRole('button', { name: 'Start pipeline' }).click();
}

/// Resolves once `read` gives a value other than its first, within `timeout`.
async function moves(read: () => Promise<string | null>, timeout = 15_000) {
  const first = await read();
  await expect.poll(read, { timeout }).not.toBe(first);
}

/// Opens a tab of each of `paths` (Jobs, Markets and Monitor among them) in one context and sees
/// every tab live with values moving, over one connection per distinct stream the whole time.
async function allLiveOverOneConnectionPerStream(
  context: BrowserContext,
  request: APIRequestContext,
  paths: string[],
  checkPage: (page: Page) => Promise<void>,
) {
  const streams = watchStreams(context);
  const pages: Page[] = [];
  for (const path of paths) {
    const page = await openLive(context, path);
    await checkPage(page);
    pages.push(page);
  }

  // A job long enough to watch its bar move in every Jobs tab.
  const jobs = pages.filter((_, i) => paths[i] === '/');
  await startPipeline(jobs[0], 6, 1000);
  const job = (page: Page) => page.locator('ul.job-list > li.job').first();
  for (const page of jobs) await expect(job(page).locator('.badge').first()).toHaveText('running', { timeout: 15_000 });

  for (const [i, page] of pages.entries()) {
    await expect(indicator(page)).toHaveText('live');
    if (paths[i] === '/') {
      await moves(() => job(page).getByRole('progressbar').getAttribute('aria-valuenow'));
    } else if (paths[i] === '/markets') {
      await moves(() => page.locator('table.board tbody tr.quote td.last').first().textContent());
    } else {
      const cpu = page.locator('figure.chart', { has: page.locator('figcaption', { hasText: 'CPU' }) });
      await moves(() => cpu.getAttribute('data-end-ms'));
    }
  }

  // One connection per distinct stream, the whole time: each of the three pages has one stream.
  const distinct = new Set(streams.openUrls());
  expect(distinct.size, `open streams: ${streams.openUrls().join(', ')}`).toBe(3);
  expect(streams.openUrls().length).toBe(3);
  for (const [url, most] of streams.most) expect(most, `connections at once to ${url}`).toBe(1);
  // The server agrees: one subscriber to the monitor's samples (the instance's own topic).
  const stats = await (await request.get(`${api}/api/debug/stats`)).json();
  const onMonitor = Object.entries(stats.subscribers_per_topic as Record<string, number>)
    .filter(([topic]) => topic.startsWith('monitor.samples.'))
    .reduce((sum, [, n]) => sum + n, 0);
  expect(onMonitor).toBe(1);
}

test('twelve tabs of Jobs, Markets and Monitor are live over one connection per stream', async ({ context, request }) => {
  test.setTimeout(240_000);
  const paths = ['/', '/markets', '/monitor', '/', '/markets', '/monitor', '/', '/markets', '/monitor', '/', '/markets', '/monitor'];
  await allLiveOverOneConnectionPerStream(context, request, paths, withWebLocks);
});

/// Publishes `count` numbered events one after the other, in the background.
function publishNumbered(request: APIRequestContext, topic: string, from: number, count: number, gapMs: number) {
  return (async () => {
    for (let n = from; n < from + count; n++) {
      await publish(request, topic, String(n));
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  })();
}

const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

/// Three tabs of one topic; the one holding the connection closes while numbered events keep
/// coming: the others show every number once, in order, and one of them holds the connection.
async function handsOverWithoutGap(context: BrowserContext, request: APIRequestContext, checkPage: (page: Page) => Promise<void>) {
  const topic = uniqueTopic('handover');
  const streams = watchStreams(context);
  const pages: Page[] = [];
  for (let i = 0; i < 3; i++) {
    const page = await openLive(context, `/inspect?topic=${topic}`);
    await checkPage(page);
    pages.push(page);
  }
  for (const n of numbers(1, 5)) await publish(request, topic, n);
  for (const page of pages) await expect(shownData(page)).toHaveText(numbers(1, 5));
  expect(streams.openPages().length).toBe(1);
  const leader = streams.openPages()[0]!;
  const others = pages.filter((p) => p !== leader);

  // Events keep coming while the leader goes away.
  const publishing = publishNumbered(request, topic, 6, 40, 25);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await streams.close(leader);
  await publishing;
  for (const page of others) {
    await expect(shownData(page)).toHaveText(numbers(1, 45), { timeout: 15_000 });
    await expect(indicator(page)).toHaveText('live');
  }
  // Another tab holds the connection now, and only one does.
  await expect.poll(() => streams.openPages().length).toBe(1);
  expect(others).toContain(streams.openPages()[0]);
  for (const [url, most] of streams.most) expect(most, `connections at once to ${url}`).toBe(1);
}

test('closing the tab that holds the connection moves it to another, with no gap in the others', async ({ context, request }) => {
  test.setTimeout(120_000);
  await handsOverWithoutGap(context, request, withWebLocks);
});

test.describe('over plain HTTP on a LAN name, where the browser has no Web Locks', () => {
  // Chromium takes 127.0.0.1 and localhost for secure contexts (with Web Locks); any other name
  // over plain HTTP is not. So these tabs browse the same server as pulseboard.test, which the
  // browser resolves to the loopback address (playwright.config.ts): the page is what an
  // operator's LAN deployment (http://10.0.0.5:3000, http://dash.internal) gets.
  test.use({ baseURL: `http://pulseboard.test:${port}` });

  test('ten tabs of Markets, Jobs and Monitor are live over one connection per stream', async ({ context, request }) => {
    test.setTimeout(240_000);
    const paths = ['/markets', '/markets', '/markets', '/markets', '/', '/markets', '/markets', '/monitor', '/markets', '/markets'];
    await allLiveOverOneConnectionPerStream(context, request, paths, withoutWebLocks);
  });

  test('closing the tab that holds the connection moves it to another, with no gap in the others', async ({ context, request }) => {
    test.setTimeout(120_000);
    await handsOverWithoutGap(context, request, withoutWebLocks);
  });
});

test('a silent connection is replaced within twice the heartbeat interval, with no event lost', async ({ context, request }) => {
  test.setTimeout(120_000);
  const topic = uniqueTopic('silent');
  const streams = watchStreams(context);
  const heartbeats: number[] = [];
  context.on('response', (response) => {
    const ms = response.headers()['x-heartbeat-ms'];
    if (response.url().includes('/api/streams/') && ms) heartbeats.push(Number(ms));
  });
  const pages = [await openLive(context, `/inspect?topic=${topic}`), await openLive(context, `/inspect?topic=${topic}`)];
  for (const n of numbers(1, 3)) await publish(request, topic, n);
  for (const page of pages) await expect(shownData(page)).toHaveText(numbers(1, 3));
  // The interval comes from the server, as the client learns it.
  expect(heartbeats.length).toBeGreaterThan(0);
  const heartbeat = heartbeats[0];
  expect(heartbeat).toBeGreaterThan(0);
  const before = streams.started.length;

  expect((await request.post(`${api}/api/debug/silence-streams`)).status()).toBe(204);
  const silencedAt = Date.now();
  // Published while the connection is silent: they must arrive exactly once after the resume.
  for (const n of numbers(4, 6)) await publish(request, topic, n);
  await expect.poll(() => streams.started.length, { timeout: 4 * heartbeat }).toBeGreaterThan(before);
  const replacedAfter = streams.started[before].at - silencedAt;
  expect(replacedAfter, `replaced ${replacedAfter} ms after the silence began`).toBeLessThan(2 * heartbeat);
  expect(streams.started.length - before, 'one replacement').toBe(1);
  await publish(request, topic, '7');
  for (const page of pages) {
    await expect(shownData(page)).toHaveText(numbers(1, 7));
    await expect(indicator(page)).toHaveText('live');
  }
});

test('offline shows offline without spending retries; online reconnects at once', async ({ context, request }) => {
  const topic = uniqueTopic('offline');
  const streams = watchStreams(context);
  const page = await openLive(context, `/inspect?topic=${topic}`);
  await publish(request, topic, 'a');
  await expect(shownData(page)).toHaveText(['a']);
  await context.setOffline(true);
  await expect(indicator(page)).toHaveText('offline');
  const whileOffline = streams.started.length;
  await publish(request, topic, 'b');
  // Longer than the first backoffs (from the server's retry): no attempt is made meanwhile.
  await page.waitForTimeout(3_000);
  expect(streams.started.length).toBe(whileOffline);
  await expect(indicator(page)).toHaveText('offline');
  await context.setOffline(false);
  const back = Date.now();
  await expect(indicator(page)).toHaveText('live');
  expect(Date.now() - back, 'reconnected at once, not after a backoff').toBeLessThan(1_000);
  await expect(shownData(page)).toHaveText(['a', 'b']);
});
