import { test, expect, type APIRequestContext } from '@playwright/test';

// The static files of public/ (cargo-leptos copies them into the site root): the favicon every
// page links, served from the deployed build's site folder.

const ICO_MAGIC = [0x00, 0x00, 0x01, 0x00]; // reserved 0, type 1 (icon)

async function getImage(request: APIRequestContext, url: string) {
  const response = await request.get(url);
  expect(response.status(), url).toBe(200);
  expect(response.headers()['content-type'], url).toMatch(/^image\//);
  const body = await response.body();
  expect(body.length, url).toBeGreaterThan(0);
  return { response, body };
}

test('/favicon.ico answers 200 with an icon image', async ({ request }) => {
  const { response, body } = await getImage(request, '/favicon.ico');
  expect(response.headers()['content-type']).toMatch(/^image\/(x-icon|vnd\.microsoft\.icon)/);
  expect([...body.subarray(0, 4)]).toEqual(ICO_MAGIC);
  // At least one image in the directory that follows the header.
  expect(body.readUInt16LE(4)).toBeGreaterThan(0);
});

for (const path of ['/', '/markets', '/monitor', '/inspect', '/no/such/page']) {
  test(`${path} links icons that resolve`, async ({ page, request }) => {
    await page.goto(path);
    const icons = page.locator('head link[rel="icon"]');
    // `href` as the browser resolved it against the page's URL.
    const hrefs = await icons.evaluateAll((links) => links.map((link) => (link as HTMLLinkElement).href));
    expect(hrefs.map((href) => new URL(href).pathname).sort()).toEqual(['/favicon.ico', '/favicon.svg']);
    for (const href of hrefs) {
      await getImage(request, href);
    }
    const svg = page.locator('head link[rel="icon"][type="image/svg+xml"]');
    const { response, body } = await getImage(request, await svg.evaluate((link) => (link as HTMLLinkElement).href));
    expect(response.headers()['content-type']).toMatch(/^image\/svg\+xml/);
    expect(body.toString('utf8')).toContain('<svg');
  });
}

test('robots.txt keeps crawlers out of the API', async ({ request }) => {
  const response = await request.get('/robots.txt');
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toMatch(/^text\/plain/);
  expect(await response.text()).toMatch(/^Disallow: \/api\/$/m);
});
