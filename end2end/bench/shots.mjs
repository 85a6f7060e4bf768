// Review screenshots: every page at 390 px and 1366 px wide, in the light and the dark theme, as
// full-page PNGs, for a person to look at. Not a test (nothing here passes or fails); it prints
// each file with how far the page scrolls sideways (`overflow=0` is none).
//
//   cd end2end && bash serve-deployed.sh 3190 &        # the release build, deployed
//   BASE=http://127.0.0.1:3190 OUT=/tmp/shots node bench/shots.mjs
//
// ONLY=jobs,monitor limits it to some pages (names as in `pages` below). The server must use the
// end-to-end tests' token secret (serve-deployed.sh does), as the script publishes to a topic for
// the inspector shots; it starts a pipeline job for the job page.
import { chromium } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';

const base = process.env.BASE ?? 'http://127.0.0.1:3190';
const out = process.env.OUT ?? '/tmp/shots';
const only = process.env.ONLY ? process.env.ONLY.split(',') : null;
const secret = process.env.E2E_JWT_SECRET ?? 'pulseboard-end-to-end-tests-shared-secret';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const b64 = (text) => Buffer.from(text).toString('base64url');
/// An HS256 token that may publish anywhere, for an hour.
function publishToken() {
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = b64(JSON.stringify({ pulseboard: { publish: ['*'] }, iat: now, exp: now + 3600 }));
  return `${header}.${claims}.${createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url')}`;
}

mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const topic = 'review.orders.created';
const setup = await browser.newContext();
for (let i = 1; i <= 12; i++) {
  const note = i === 5 ? 'a rather long payload line to see how wrapping behaves in the list of events on a narrow screen' : undefined;
  await setup.request.post(`${base}/api/publish?topic=${topic}`, {
    data: JSON.stringify({ order: 1000 + i, customer: `c-${i}`, total: (i * 13.37).toFixed(2), note }),
    headers: { Authorization: `Bearer ${publishToken()}` },
  });
}
await setup.close();

for (const theme of ['light', 'dark']) {
  const context = await browser.newContext({ reducedMotion: 'reduce' });
  await context.addCookies([{ name: 'theme', value: theme, url: base }]);
  const page = await context.newPage();
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto(`${base}/`);
  await page.waitForSelector('.app[data-hydrated="true"]');
  // A job of this session with a few stages, so the job page has a log and progress to show.
  const form = page.getByRole('form', { name: 'Run a pipeline' });
  await form.getByLabel('Stages').fill('4');
  await form.getByLabel('Step (ms)').fill('700');
  await form.getByRole('button', { name: 'Start pipeline' }).click();
  await page.waitForSelector('ul.job-list > li.job');
  const id = await page.locator('ul.job-list > li.job').first().getAttribute('data-id');
  const pages = {
    jobs: '/',
    job: `/jobs/${id}`,
    markets: '/markets',
    monitor: '/monitor',
    inspector: `/inspect?topic=${topic}`,
    'inspector-empty': '/inspect',
    'inspector-bad': '/inspect?topic=no%20way',
    notfound: '/no/such/page',
  };
  for (const width of [390, 1366]) {
    await page.setViewportSize({ width, height: 900 });
    for (const [name, path] of Object.entries(pages)) {
      if (only && !only.includes(name)) continue;
      await page.goto(`${base}${path}`);
      if (name !== 'notfound') await page.waitForSelector('.app[data-hydrated="true"]');
      // Let live data arrive (the monitor's charts need a few samples).
      await page.waitForTimeout(name === 'monitor' ? 2500 : 800);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      const file = `${name}-${width}-${theme}.png`;
      await page.screenshot({ path: `${out}/${file}`, fullPage: true });
      console.log(`${file} overflow=${overflow}`);
    }
  }
  await context.close();
}
await browser.close();
