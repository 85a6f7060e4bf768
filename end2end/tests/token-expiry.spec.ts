import { test, expect, APIRequestContext } from '@playwright/test';
import { bearer } from './token';

// Runs against the second server of playwright.config.ts ("tokens-required"): every stream needs
// a token (subscribe-requires-token), the browser session's tokens live 10 s and expire with no
// leeway. The page's stream gets its token from POST /api/streams/token on its first 401; when
// the token runs out the server ends the stream with `auth-expired`, and the page must fetch a
// fresh token and resume from its last id without anyone noticing.

const shown = (page: import('@playwright/test').Page) => page.locator('ol.events .event-data');

async function publish(request: APIRequestContext, topic: string, data: string) {
  const response = await request.post(`/api/publish?topic=${topic}`, { data, headers: bearer() });
  expect(response.status()).toBe(200);
}

test('a stream outlives its token: every event shown once, and live again after the refresh', async ({ page, request }) => {
  const topic = `e2e.expiry.${Date.now()}`;
  const tokens: number[] = [];
  const resumes: (string | undefined)[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/streams/token')) tokens.push(Date.now());
    if (r.url().includes('/api/streams/topic')) resumes.push(r.headers()['last-event-id']);
  });
  await page.goto(`/inspect?topic=${topic}`);
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('.connection-label')).toHaveText('live');
  expect(tokens.length, 'the stream took a session token on its first 401').toBe(1);

  // Numbered events across the token's expiry: publish until the page has fetched its second
  // token (the first expired mid-stream), then a few more on the refreshed stream.
  let n = 0;
  const giveUp = Date.now() + 40_000;
  while (tokens.length < 2 && Date.now() < giveUp) {
    await publish(request, topic, String(++n));
    await page.waitForTimeout(250);
  }
  expect(tokens.length, 'the token expired and a fresh one was fetched').toBe(2);
  for (let i = 0; i < 5; i++) {
    await publish(request, topic, String(++n));
    await page.waitForTimeout(250);
  }

  await expect(page.locator('.connection-label')).toHaveText('live');
  await expect(shown(page)).toHaveText(Array.from({ length: n }, (_, i) => String(i + 1)));
  // The stream after the refresh resumed from the last event shown before it.
  expect(resumes.at(-1), `stream requests' Last-Event-ID: ${JSON.stringify(resumes)}`).toBeTruthy();
});
