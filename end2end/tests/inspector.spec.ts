import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { bearer, publishToken } from './token';

// The topic inspector as a developer wiring a producer uses it: pick or type a topic, read its
// events like a log, pause to read, and paste the publish command it offers.

function uniqueTopic(name: string) {
  return `e2e.inspector.${name}.${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
}

async function publish(request: APIRequestContext, topic: string, data: string) {
  const response = await request.post(`/api/publish?topic=${topic}`, { data, headers: bearer() });
  expect(response.status()).toBe(200);
}

async function hydrated(page: Page) {
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
}

async function openInspector(page: Page, topic: string) {
  await page.goto(`/inspect?topic=${topic}`);
  await hydrated(page);
  await expect(page.locator('.connection-label')).toHaveText('live');
}

/// Starts a one-stage pipeline job in the session of `request` (its own cookie jar).
async function startJob(request: APIRequestContext) {
  const response = await request.post('/api/jobs/start', {
    form: { kind: 'pipeline', stages: '1', step_ms: '50' },
    headers: { accept: 'application/json' },
  });
  expect(response.status()).toBe(200);
}

const shownData = (page: Page) => page.locator('ol.events .event-data');
const eventsBox = (page: Page) => page.locator('.events-box');
/// Whether the events box is scrolled to its bottom (the newest event in sight).
const atTail = (page: Page) => eventsBox(page).evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 2);

test('events read like a log: newest at the bottom, the box opens at its tail, and a reader who scrolled up stays put', async ({ page, request }) => {
  await page.setViewportSize({ width: 1366, height: 800 });
  const topic = uniqueTopic('tail');
  for (let n = 1; n <= 40; n++) await publish(request, topic, `n${n}`);
  await openInspector(page, topic);
  await expect(shownData(page)).toHaveCount(40);
  await expect(shownData(page).first()).toHaveText('n1');
  await expect(shownData(page).last()).toHaveText('n40');
  // More rows than the box shows: it scrolls, and opens at its tail.
  expect(await eventsBox(page).evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
  await expect.poll(() => atTail(page)).toBe(true);
  for (let n = 41; n <= 45; n++) await publish(request, topic, `n${n}`);
  await expect(shownData(page).last()).toHaveText('n45');

  // A reader who scrolled up to read stays where they are.
  await eventsBox(page).evaluate((el) => el.scrollTo({ top: 0 }));
  await expect.poll(() => eventsBox(page).evaluate((el) => el.scrollTop)).toBe(0);
  await publish(request, topic, 'n46');
  await expect(shownData(page).last()).toHaveText('n46');
  expect(await eventsBox(page).evaluate((el) => el.scrollTop)).toBe(0);
});

/// Whether `row` lies wholly inside the events box's visible part (no scrolling needed to read it).
const inBoxView = (page: Page, row: import('@playwright/test').Locator) =>
  row.evaluate((el) => {
    const box = el.closest('.events-box')!.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  });

test('the box follows new events at its tail unless the reader scrolled up; "Jump to the latest" takes them back', async ({ page, request }) => {
  await page.setViewportSize({ width: 1366, height: 800 });
  const topic = uniqueTopic('follow');
  await publish(request, topic, 'm1');
  await openInspector(page, topic);
  await expect(shownData(page)).toHaveText(['m1']);
  const rows = page.locator('ol.events li');
  const state = page.locator('.inspector .tail-state');
  await expect(state).toHaveText('Following new events.');
  // Live events until the box overflows: each newest one is in view at the bottom, unscrolled by the reader.
  let n = 1;
  while (!(await eventsBox(page).evaluate((el) => el.scrollHeight > el.clientHeight + 100))) {
    await publish(request, topic, `m${++n}`);
    await expect(shownData(page).last()).toHaveText(`m${n}`);
    expect(n, 'the box never overflowed').toBeLessThan(80);
  }
  for (let i = 0; i < 3; i++) {
    await publish(request, topic, `m${++n}`);
    await expect(shownData(page).last()).toHaveText(`m${n}`);
    await expect.poll(() => inBoxView(page, rows.last())).toBe(true);
  }
  expect(await inBoxView(page, rows.first())).toBe(false);
  await expect.poll(() => atTail(page)).toBe(true);
  await expect(state).toHaveText('Following new events.');

  // Scrolled up: new events arrive below, what the reader looks at stays put, and the way back shows.
  await eventsBox(page).evaluate((el) => el.scrollTo({ top: 0 }));
  const jump = page.getByRole('button', { name: 'Jump to the latest' });
  await expect(jump).toBeVisible();
  await expect(state).toContainText('Scrolled up: new events are not followed.');
  for (let i = 0; i < 3; i++) await publish(request, topic, `m${++n}`);
  await expect(shownData(page).last()).toHaveText(`m${n}`);
  expect(await eventsBox(page).evaluate((el) => el.scrollTop)).toBe(0);
  expect(await inBoxView(page, rows.first())).toBe(true);
  expect(await inBoxView(page, rows.last())).toBe(false);

  // Back to the end by the button: the newest is in view, and it follows again.
  await jump.click();
  await expect.poll(() => inBoxView(page, rows.last())).toBe(true);
  await expect(state).toHaveText('Following new events.');
  await expect(jump).toHaveCount(0);
  await publish(request, topic, `m${++n}`);
  await expect(shownData(page).last()).toHaveText(`m${n}`);
  await expect.poll(() => inBoxView(page, rows.last())).toBe(true);
});

test('the picker lists the public topics and your own, never another session\'s private topic', async ({ page, browser, request }) => {
  const topic = uniqueTopic('picked');
  await publish(request, topic, 'picked-one');
  // Another session's private jobs topic holds events.
  const stranger = await browser.newContext();
  await startJob(stranger.request);
  // And so does ours.
  await startJob(page.request);

  await page.goto('/inspect');
  await hydrated(page);
  await expect(page.locator('.prompt')).toContainText('Pick a topic');
  const picker = page.getByLabel('Known topics');
  await expect(picker.locator(`option[value="${topic}"]`)).toHaveCount(1);
  const privateOptions = picker.locator('option[value^="private."]');
  await expect(privateOptions).toHaveCount(1);
  await expect(page.locator('optgroup[label="Yours (private)"] option')).toHaveCount(1);
  const mine = (await privateOptions.getAttribute('value'))!;

  await picker.selectOption(topic);
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page).toHaveURL(new RegExp(`topic=${topic.replace(/\./g, '\\.')}(&|$)`));
  await expect(page.locator('.stream-state code')).toHaveText(topic);
  await expect(shownData(page)).toHaveText(['picked-one']);
  await expect(page.locator('.connection-label')).toHaveText('live');
  await expect(page.getByLabel('Known topics')).toHaveValue(topic);

  // Our own private topic opens for us, with our job's events.
  await page.getByLabel('Known topics').selectOption(mine);
  await page.getByRole('button', { name: 'Open' }).click();
  await expect(page.locator('.stream-state code')).toHaveText(mine);
  await expect(page.locator('ol.events .event-type', { hasText: /^job$/ }).first()).toBeVisible();
  await expect(page.locator('.connection-label')).toHaveText('live');
  // The stranger neither sees it listed nor opens it.
  const theirs = await stranger.newPage();
  await theirs.goto(`/inspect?topic=${mine}`);
  await hydrated(theirs);
  await expect(theirs.locator('.inspector .error')).toContainText('private to the server');
  await expect(theirs.getByLabel('Known topics').locator(`option[value="${mine}"]`)).toHaveCount(0);
  await stranger.close();

  // Typing a name still works.
  const typed = uniqueTopic('typed');
  await page.getByLabel('Topic', { exact: true }).fill(typed);
  await page.getByLabel('Topic', { exact: true }).press('Enter');
  await expect(page.locator('.stream-state code')).toHaveText(typed);
  await expect(page.locator('.connection-label')).toHaveText('live');
});

test('pause holds and counts new events; resume shows every one of them in order', async ({ page, request }) => {
  const topic = uniqueTopic('pause');
  await openInspector(page, topic);
  await publish(request, topic, 'a');
  await expect(shownData(page)).toHaveText(['a']);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.locator('.held')).toHaveText('Paused: new events are held until you resume.');
  for (const data of ['b', 'c', 'd']) await publish(request, topic, data);
  // Counted as they arrive, not shown.
  await expect(page.locator('.held')).toHaveText('Paused: 3 new events held.');
  expect(await shownData(page).allTextContents()).toEqual(['a']);
  await expect(page.locator('.connection-label')).toHaveText('live');
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(shownData(page)).toHaveText(['a', 'b', 'c', 'd']);
  await expect(page.locator('.held')).toHaveText('');
  await expect(page.getByRole('button', { name: 'Pause' })).toBeFocused();
  await publish(request, topic, 'e');
  await expect(shownData(page)).toHaveText(['a', 'b', 'c', 'd', 'e']);
});

test('the curl command names this site as the request reached it, and works as pasted', async ({ page, browser, baseURL }) => {
  const topic = uniqueTopic('curl');
  await openInspector(page, topic);
  const command = page.locator('code.curl');
  await expect(command).toHaveText(
    `curl -X POST -H 'authorization: Bearer TOKEN' --data-binary 'hello' '${baseURL}/api/publish?topic=${topic}'`,
  );
  // Pasted into a shell with a real token, it publishes to the page's topic.
  const text = (await command.textContent())!.replace('TOKEN', publishToken([topic]));
  execFileSync('bash', ['-c', `${text} --fail --silent --show-error`]);
  await expect(shownData(page)).toHaveText(['hello']);

  // Behind a proxy that terminates TLS: the public host and scheme.
  const proxied = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-host': 'pulse.example', 'x-forwarded-proto': 'https' } });
  const behind = await proxied.newPage();
  await behind.goto(`/inspect?topic=${topic}`);
  await hydrated(behind);
  await expect(behind.locator('code.curl')).toContainText(`'https://pulse.example/api/publish?topic=${topic}'`);
  await proxied.close();
});

test('a name that breaks the grammar is refused with the reason, and nothing is subscribed', async ({ page }) => {
  const asked: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) asked.push(`${url.pathname}${url.search}`);
  });
  await page.goto('/inspect?topic=no%20way');
  await hydrated(page);
  await expect(page.getByRole('alert')).toHaveText(
    `Not inspecting this name: topic name "no way" contains ' '; allowed are letters, digits and . _ - :`,
  );
  await expect(page.getByLabel('Topic', { exact: true })).toHaveValue('no way');
  await expect(page.getByLabel('Topic', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  // No stream on the page: the header says so, and no stream or snapshot was asked for.
  await expect(page.locator('.connection-label')).toHaveText('idle');
  await expect(page.locator('.stream-state')).toHaveCount(0);
  await expect(page.locator('code.curl')).toHaveCount(0);

  await page.getByLabel('Topic', { exact: true }).fill('');
  await page.getByLabel('Topic', { exact: true }).press('Enter');
  await expect(page).toHaveURL(/\/inspect\?topic=(&|$)/);
  await expect(page.getByRole('alert')).toHaveText('Not inspecting this name: topic name must not be empty');
  await expect(page.locator('.connection-label')).toHaveText('idle');

  // A good name subscribes at once: what was not asked for above was not going to be.
  const good = uniqueTopic('good');
  await page.getByLabel('Topic', { exact: true }).fill(good);
  await page.getByLabel('Topic', { exact: true }).press('Enter');
  await expect(page.locator('.connection-label')).toHaveText('live');
  const streams = asked.filter((path) => path.startsWith('/api/streams/') || path.startsWith('/api/inspector/snapshot'));
  expect(streams.length).toBeGreaterThan(0);
  expect(streams.every((path) => path.includes(`topic=${good}`)), streams.join('\n')).toBe(true);
});
