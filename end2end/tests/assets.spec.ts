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

// The built js/wasm/css: hashed names, precompressed at build time, cached for good.

test('the pkg files are sent precompressed and immutable, pages no-cache', async ({ page, request }) => {
  const seen = new Map<string, { accepted: string; encoding?: string; cache?: string }>();
  page.on('response', async (response) => {
    if (new URL(response.url()).pathname.startsWith('/pkg/')) {
      const headers = response.headers();
      const accepted = (await response.request().allHeaders())['accept-encoding'] ?? '';
      seen.set(new URL(response.url()).pathname, { accepted, encoding: headers['content-encoding'], cache: headers['cache-control'] });
    }
  });
  const answer = await page.goto('/markets');
  expect(answer?.headers()['cache-control']).toBe('no-cache');
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  const names = [...seen.keys()];
  for (const ext of ['js', 'wasm', 'css']) {
    // pulseboard.<22 characters of URL-safe base64>.ext
    expect(names.some((name) => new RegExp(`^/pkg/pulseboard\\.[A-Za-z0-9_-]{22}\\.${ext}$`).test(name)), `${ext} in ${names}`).toBe(true);
  }
  for (const [name, { accepted, encoding, cache }] of seen) {
    expect(cache, name).toBe('public, max-age=31536000, immutable');
    // Chromium offers br over HTTPS only; over plain HTTP it gets the gzip file.
    expect(encoding, `${name} (accept-encoding: ${accepted})`).toBe(/\bbr\b/.test(accepted) ? 'br' : 'gzip');
  }
  // Asked for br, the wasm comes as the .br file written at build time.
  const wasmName = [...seen.keys()].find((name) => name.endsWith('.wasm'))!;
  const br = await request.get(wasmName, { headers: { 'accept-encoding': 'br' } });
  expect(br.headers()['content-encoding']).toBe('br');
  // Asked for gzip only, the same file comes precompressed with gzip; asked for nothing, plain.
  const wasm = names.find((name) => name.endsWith('.wasm'))!;
  const gzip = await request.get(wasm, { headers: { 'accept-encoding': 'gzip' } });
  expect(gzip.headers()['content-encoding']).toBe('gzip');
  expect(gzip.headers()['content-type']).toBe('application/wasm');
  const plain = await request.get(wasm, { headers: { 'accept-encoding': 'identity' } });
  expect(plain.headers()['content-encoding']).toBeUndefined();
  expect((await plain.body()).subarray(0, 4)).toEqual(Buffer.from([0x00, 0x61, 0x73, 0x6d]));
});

test('a returning visitor downloads no pkg file', async ({ page }) => {
  await page.goto('/markets');
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  // A full navigation (not the router's): the new page asks for its js, wasm and css again.
  await page.goto('/monitor');
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
  // Resource Timing: transferSize is 0 only for what came from the browser's cache (a 304
  // revalidation still costs its headers).
  const files = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((entry) => entry as PerformanceResourceTiming)
      .filter((entry) => new URL(entry.name).pathname.startsWith('/pkg/'))
      .map((entry) => ({ url: entry.name, transferred: entry.transferSize, size: entry.decodedBodySize })),
  );
  expect(files.map((file) => file.url.split('.').pop()).sort(), JSON.stringify(files)).toEqual(expect.arrayContaining(['css', 'js', 'wasm']));
  for (const file of files) {
    expect(file.transferred, file.url).toBe(0);
    expect(file.size, file.url).toBeGreaterThan(0);
  }
});
