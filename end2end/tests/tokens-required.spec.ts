import { test, expect, APIRequestContext, Page } from '@playwright/test';
import { bearer } from './token';

// Runs against the second server of playwright.config.ts ("tokens-required"): every stream needs
// a token (subscribe-requires-token). The inspector's server-rendered snapshot is read for the
// browser session with the grant its stream gets, so the page shows the topic's recent events on
// first paint, with no token of the reader's own; another session's private topic stays refused.

const shown = (page: Page) => page.locator('ol.events .event-data');

async function publish(request: APIRequestContext, topic: string, data: string) {
  const response = await request.post(`/api/publish?topic=${topic}`, { data, headers: bearer() });
  expect(response.status()).toBe(200);
}

test('the inspector shows a topic\'s recent events on first paint, then live, with no token of the reader\'s own', async ({ page, browser, request }) => {
  const topic = `e2e.required.${Date.now()}`;
  for (const data of ['one', 'two', 'three']) await publish(request, topic, data);

  // First paint: the server's HTML as it is, no script run.
  const scriptless = await browser.newContext({ javaScriptEnabled: false });
  const first = await scriptless.newPage();
  const response = await first.goto(`/inspect?topic=${topic}`);
  expect(response?.status()).toBe(200);
  await expect(shown(first)).toHaveText(['one', 'two', 'three']);
  await expect(first.getByText('needs a bearer token')).toHaveCount(0);
  await scriptless.close();

  // In the app: the same events, then new ones over the stream (which fetches its own token).
  await page.goto(`/inspect?topic=${topic}`);
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('.connection-label')).toHaveText('live');
  await expect(shown(page)).toHaveText(['one', 'two', 'three']);
  await publish(request, topic, 'four');
  await expect(shown(page)).toHaveText(['one', 'two', 'three', 'four']);
  await expect(page.getByText('needs a bearer token')).toHaveCount(0);
});

test('with tokens required, another session\'s private topic is still refused', async ({ page, browser }) => {
  const started = await page.request.post('/api/jobs/start', {
    form: { kind: 'pipeline', stages: '1', step_ms: '50' },
    headers: { accept: 'application/json' },
  });
  expect(started.status()).toBe(200);
  let own: string[] = [];
  await expect
    .poll(async () => {
      own = (await (await page.request.get('/api/inspector/setup')).json()).own;
      return own.length;
    })
    .toBe(1);
  const mine = own[0];
  await page.goto(`/inspect?topic=${mine}`);
  await expect(page.locator('ol.events .event-type', { hasText: /^job$/ }).first()).toBeVisible();

  const stranger = await browser.newContext();
  const theirs = await stranger.newPage();
  await theirs.goto(`/inspect?topic=${mine}`);
  await expect(theirs.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  await expect(theirs.locator('.inspector .error')).toContainText('private to the server');
  await expect(theirs.locator('ol.events')).toHaveCount(0);
  await stranger.close();
});
