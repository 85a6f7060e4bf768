import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { bearer } from './token';

// The topic inspector is a page that shows a stream: its server-rendered snapshot, then live
// events. These tests drive the stream layer through it.

function uniqueTopic(name: string) {
  return `e2e.${name}.${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
}

async function publish(request: APIRequestContext, topic: string, data: string) {
  const response = await request.post(`/api/publish?topic=${topic}`, { data, headers: bearer() });
  expect(response.status()).toBe(200);
  return (await response.json()).id as string;
}

async function openInspector(page: Page, topic: string) {
  await page.goto(`/inspect?topic=${topic}`);
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('.connection-label')).toHaveText('live');
}

const shownData = (page: Page) => page.locator('ol.events .event-data');

async function setVisibility(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, 'visibilityState', { value: hidden ? 'hidden' : 'visible', configurable: true });
    Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('the server renders the snapshot, then live events follow', async ({ page, request, browser }) => {
  const topic = uniqueTopic('snapshot');
  await publish(request, topic, 'first');
  await publish(request, topic, 'second');

  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noJs.newPage();
  await plain.goto(`/inspect?topic=${topic}`);
  await expect(shownData(plain)).toHaveText(['first', 'second']);
  await noJs.close();

  await openInspector(page, topic);
  await expect(shownData(page)).toHaveText(['first', 'second']);
  await publish(request, topic, 'third');
  await publish(request, topic, 'line one\nline two');
  await expect(shownData(page)).toHaveText(['first', 'second', 'third', 'line one\nline two']);
});

test('a cut connection shows reconnecting, then live, with no event lost or doubled', async ({ page, request }) => {
  const topic = uniqueTopic('cut');
  await openInspector(page, topic);
  for (const n of ['1', '2', '3']) await publish(request, topic, n);
  await expect(shownData(page)).toHaveText(['1', '2', '3']);

  expect((await request.post('/api/debug/drop-streams')).status()).toBe(204);
  await expect(page.locator('.connection-label')).toHaveText('reconnecting');
  // Published while the page is away: must arrive exactly once after the resume.
  for (const n of ['4', '5']) await publish(request, topic, n);
  await expect(page.locator('.connection-label')).toHaveText('live');
  await publish(request, topic, '6');
  await expect(shownData(page)).toHaveText(['1', '2', '3', '4', '5', '6']);
});

test('a hidden tab closes its stream and catches up when shown', async ({ page, browser, request }) => {
  const topic = uniqueTopic('hidden');
  await openInspector(page, topic);
  // A second reader on the same topic stays visible: it tells when the events have been
  // delivered. In another profile (context): tabs of one profile share one connection.
  const elsewhere = await browser.newContext();
  const watcher = await elsewhere.newPage();
  await openInspector(watcher, topic);
  await publish(request, topic, 'a');
  await expect(shownData(page)).toHaveText(['a']);
  await expect(shownData(watcher)).toHaveText(['a']);
  const onTopic = async () => ((await (await request.get('/api/debug/stats')).json()).subscribers_per_topic[topic] ?? 0) as number;
  await expect.poll(onTopic).toBe(2);

  await setVisibility(page, true);
  await expect(page.locator('.connection-label')).toHaveText('paused');
  await expect.poll(onTopic).toBe(1);
  await publish(request, topic, 'b');
  await publish(request, topic, 'c');
  // Once a live reader has them, the hidden tab has still not: its stream is closed.
  await expect(shownData(watcher)).toHaveText(['a', 'b', 'c']);
  expect(await shownData(page).allTextContents()).toEqual(['a']);
  await elsewhere.close();
  await expect.poll(onTopic).toBe(0);

  await setVisibility(page, false);
  await expect(page.locator('.connection-label')).toHaveText('live');
  await expect(shownData(page)).toHaveText(['a', 'b', 'c']);
  await expect.poll(onTopic).toBe(1);
});

test('leaving the page closes its stream', async ({ page, request }) => {
  const topic = uniqueTopic('leave');
  await openInspector(page, topic);
  const topicSubscribers = async () =>
    ((await (await request.get('/api/debug/stats')).json()).subscribers_per_topic[topic] ?? 0) as number;
  await expect.poll(topicSubscribers).toBe(1);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Monitor' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Monitor');
  await expect.poll(topicSubscribers).toBe(0);
});
