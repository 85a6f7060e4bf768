import { test, expect, Page, BrowserContext } from '@playwright/test';

// Every page as a person sees it: on a phone and a laptop, in both themes, without motion,
// without JavaScript, and from the keyboard.

async function hydrated(page: Page) {
  await expect(page.locator('.app')).toHaveAttribute('data-hydrated', 'true');
}

type Theme = 'light' | 'dark';

async function pickTheme(context: BrowserContext, theme: Theme, baseURL: string) {
  await context.addCookies([{ name: 'theme', value: theme, url: baseURL }]);
}

/// A job of our own, so the detail page has something to show.
async function startPipeline(page: Page, stages: number, stepMs: number): Promise<string> {
  await page.goto('/');
  await hydrated(page);
  const form = page.getByRole('form', { name: 'Run a pipeline' });
  const before = await page.locator('ul.job-list > li.job').count();
  await form.getByLabel('Stages').fill(String(stages));
  await form.getByLabel('Step (ms)').fill(String(stepMs));
  await form.getByRole('button', { name: 'Start pipeline' }).click();
  await expect(page.locator('ul.job-list > li.job')).toHaveCount(before + 1);
  return (await page.locator('ul.job-list > li.job').first().getAttribute('data-id'))!;
}

// 128 characters, the longest topic name there is.
const longTopic = `views.${'very-long-topic-name-'.repeat(6)}`.slice(0, 128);

function pagePaths(jobId: string) {
  return ['/', `/jobs/${jobId}`, '/markets', '/monitor', '/inspect?topic=demo', `/inspect?topic=${longTopic}`];
}

/// How far the document is wider than the window (0: no horizontal scroll), and what sticks out.
async function horizontalOverflow(page: Page) {
  return page.evaluate(() => {
    const over = document.documentElement.scrollWidth - window.innerWidth;
    const out = Array.from(document.querySelectorAll('.app *'))
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !el.closest('.table-scroll'))
      .map((el) => `${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''}`);
    return over > 0 ? `${over} px: ${out.slice(0, 8).join(', ')}` : 'none';
  });
}

for (const width of [390, 1366]) {
  for (const theme of ['light', 'dark'] as Theme[]) {
    test(`at ${width} px in the ${theme} theme no page scrolls sideways`, async ({ page, context, baseURL }) => {
      await pickTheme(context, theme, baseURL!);
      await page.setViewportSize({ width, height: 900 });
      const id = await startPipeline(page, 2, 100);
      for (const path of pagePaths(id)) {
        await page.goto(path);
        await hydrated(page);
        await expect(page.locator('.app')).toHaveAttribute('data-theme', theme);
        await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
        expect(await horizontalOverflow(page), `${path} at ${width} px`).toBe('none');
        // The header stays inside the window (it wraps on a phone).
        for (const part of ['header.top nav', 'header.top .theme-toggle', 'header.top .connection']) {
          const box = (await page.locator(part).boundingBox())!;
          expect(box.x + box.width, `${part} on ${path}`).toBeLessThanOrEqual(width);
        }
      }
      // Monitor charts keep their "now" end on screen.
      await page.goto('/monitor');
      await hydrated(page);
      const now = page.locator('.chart .x-label', { hasText: /^now$/ }).first();
      await expect(now).toBeVisible();
      const box = (await now.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(width);
      // The board scrolls inside its own box on a phone, not the page.
      await page.goto('/markets');
      await hydrated(page);
      const scroller = page.locator('.table-scroll');
      const { client, scroll } = await scroller.evaluate((el) => ({ client: el.clientWidth, scroll: el.scrollWidth }));
      expect(client).toBeLessThanOrEqual(width);
      if (width === 390) expect(scroll).toBeGreaterThan(client);
    });
  }
}

test('the header wraps on a phone: the navigation gets a line of its own', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto('/markets');
  const brand = (await page.locator('header.top .brand').boundingBox())!;
  const nav = (await page.locator('header.top nav').boundingBox())!;
  expect(nav.y).toBeGreaterThanOrEqual(brand.y + brand.height - 1);
});

test.describe('the theme follows the system until one is picked', () => {
  test.describe('with no script at all', () => {
    test.use({ javaScriptEnabled: false, colorScheme: 'dark' });
    test('a dark system gets the dark theme from the stylesheet itself', async ({ page }) => {
      await page.goto('/markets');
      await expect(page.locator('.app')).toHaveAttribute('data-theme-source', 'system');
      expect(await page.locator('.app').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(16, 20, 27)');
    });
  });

  test.describe('in a dark system', () => {
    test.use({ colorScheme: 'dark' });
    test('the page is dark, and picking light is remembered across a reload', async ({ page, context }) => {
      await page.goto('/');
      await hydrated(page);
      await expect(page.locator('.app')).toHaveAttribute('data-theme', 'dark');
      await page.getByRole('button', { name: 'Light theme' }).click();
      await expect(page.locator('.app')).toHaveAttribute('data-theme', 'light');
      expect((await context.cookies()).find((c) => c.name === 'theme')?.value).toBe('light');
      // The server renders the pick: the HTML itself carries it, so the first paint is light.
      const html = await (await page.request.get('/markets')).text();
      const shell = html.match(/<div[^>]*class="app"[^>]*>/)?.[0] ?? '';
      expect(shell).toContain('data-theme="light"');
      expect(shell).toContain('data-theme-source="choice"');
      await page.reload();
      await expect(page.locator('.app')).toHaveAttribute('data-theme', 'light');
      await hydrated(page);
      await expect(page.locator('.app')).toHaveAttribute('data-theme', 'light');
      // Back to the system's theme: the pick is forgotten, the page follows the system again.
      await page.getByRole('button', { name: 'Dark theme' }).click();
      await expect(page.locator('.app')).toHaveAttribute('data-theme-source', 'system');
      expect((await context.cookies()).find((c) => c.name === 'theme')).toBeUndefined();
    });
  });

  test('a picked dark theme is on the first paint, before any script', async ({ browser, baseURL }) => {
    const context = await browser.newContext({ javaScriptEnabled: false, colorScheme: 'light' });
    await pickTheme(context, 'dark', baseURL!);
    const page = await context.newPage();
    await page.goto('/monitor');
    await expect(page.locator('.app')).toHaveAttribute('data-theme', 'dark');
    expect(await page.locator('.app').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(16, 20, 27)');
    await context.close();
  });
});

/// Every visible element with text of its own: its colour against the background it is drawn
/// on (the nearest opaque background up the tree, translucent layers blended in), as WCAG 2
/// computes contrast. Returns the ones below `min`.
async function lowContrast(page: Page, min: number) {
  return page.evaluate((min) => {
    type Rgba = [number, number, number, number];
    const parse = (text: string): Rgba => {
      const m = text.match(/rgba?\(([^)]+)\)/);
      if (!m) return [0, 0, 0, 0];
      const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
    };
    const over = (top: Rgba, under: Rgba): Rgba => {
      const a = top[3] + under[3] * (1 - top[3]);
      if (a === 0) return [0, 0, 0, 0];
      const mix = (i: number) => (top[i] * top[3] + under[i] * under[3] * (1 - top[3])) / a;
      return [mix(0), mix(1), mix(2), a];
    };
    const background = (el: Element | null): Rgba => {
      const layers: Rgba[] = [];
      for (let at = el; at; at = at.parentElement) {
        const bg = parse(getComputedStyle(at).backgroundColor);
        if (bg[3] > 0) layers.push(bg);
        if (bg[3] >= 1) break;
      }
      return layers.reduceRight<Rgba>((under, top) => over(top, under), [255, 255, 255, 1]);
    };
    const luminance = ([r, g, b]: Rgba) => {
      const f = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a: Rgba, b: Rgba) => {
      const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05);
    };
    const bad: string[] = [];
    let checked = 0;
    for (const el of Array.from(document.querySelectorAll('.app *'))) {
      const own = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== '');
      if (!own || el.closest('.sr-only, noscript, title')) continue;
      const rect = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden') continue;
      const isSvgText = el instanceof SVGElement;
      const fg = parse(isSvgText ? style.fill : style.color);
      const bg = background(isSvgText ? el.closest('svg') : el);
      const r = ratio(over(fg, bg), bg);
      checked++;
      if (r < min) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent!.trim().slice(0, 30)}": ${r.toFixed(2)}`);
    }
    return { checked, bad };
  }, min);
}

for (const theme of ['light', 'dark'] as Theme[]) {
  test(`every text has a contrast of at least 4.5:1 in the ${theme} theme`, async ({ page, context, baseURL }) => {
    await pickTheme(context, theme, baseURL!);
    // Flashes and transitions at rest: the colours themselves are what is checked.
    await page.emulateMedia({ reducedMotion: 'reduce' });
    const id = await startPipeline(page, 2, 100);
    await expect(page.locator(`li.job[data-id="${id}"] .badge`).first()).toHaveText('succeeded', { timeout: 20_000 });
    for (const path of [...pagePaths(id), '/no/such/page']) {
      await page.goto(path);
      if (!path.startsWith('/no/')) await hydrated(page);
      await expect(page.locator('.app')).toHaveAttribute('data-theme', theme);
      const { checked, bad } = await lowContrast(page, 4.5);
      expect(checked, path).toBeGreaterThan(10);
      expect(bad, `${path} in ${theme}`).toEqual([]);
    }
    // Links are the theme's link colour, not the browser's default blue.
    await page.goto('/no/such/page');
    const link = await page.locator('.not-found a').first().evaluate((el) => getComputedStyle(el).color);
    expect(link).not.toBe('rgb(0, 0, 238)');
  });

  test(`keyboard focus is visible in the ${theme} theme`, async ({ page, context, baseURL }) => {
    await pickTheme(context, theme, baseURL!);
    await page.goto('/markets');
    await hydrated(page);
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement!);
      return { style: style.outlineStyle, width: parseFloat(style.outlineWidth), tag: document.activeElement!.tagName };
    });
    expect(outline.tag).not.toBe('BODY');
    expect(outline.style).toBe('solid');
    expect(outline.width).toBeGreaterThanOrEqual(2);
  });
}

test.describe('less motion', () => {
  test('a reader who asks for reduced motion sees no price flash', async ({ page }) => {
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.goto('/markets');
    await hydrated(page);
    await expect(page.locator('td.last[class*="flash-"]').first()).toBeAttached({ timeout: 15_000 });
    const animations = await page.locator('td.last').evaluateAll((cells) => cells.map((c) => getComputedStyle(c).animationName));
    expect(new Set(animations)).toEqual(new Set(['none']));
  });

  test('otherwise a row flashes at most every 2 s, not on every tick', async ({ page }) => {
    await page.goto('/markets');
    await hydrated(page);
    await expect(page.locator('.connection-label')).toHaveText('live');
    const flashes = await page.evaluate(async () => {
      const cells = Array.from(document.querySelectorAll('td.last'));
      const counts = cells.map(() => 0);
      const observer = new MutationObserver((records) => {
        for (const r of records) counts[cells.indexOf(r.target as Element)]++;
      });
      cells.forEach((c) => observer.observe(c, { attributes: true, attributeFilter: ['class'] }));
      await new Promise((done) => setTimeout(done, 5000));
      observer.disconnect();
      return counts;
    });
    // The default market moves every symbol many times a second; each flashes, but sparingly.
    expect(Math.max(...flashes)).toBeGreaterThan(0);
    expect(Math.max(...flashes)).toBeLessThanOrEqual(3);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  test('a page says live updates need JavaScript instead of connecting forever', async ({ page }) => {
    for (const path of ['/', '/markets', '/monitor', '/inspect?topic=demo']) {
      await page.goto(path);
      await expect(page.locator('.stream-state .state')).toHaveText('live updates need JavaScript — reload for the latest');
    }
  });
});

test('with JavaScript the same place shows the stream state', async ({ page }) => {
  await page.goto('/markets');
  await hydrated(page);
  await expect(page.locator('.stream-state .state')).toHaveText('live');
});

test.describe('focus stays on the page after an action', () => {
  const activeElement = (page: Page) =>
    page.evaluate(() => ({ tag: document.activeElement?.tagName, id: document.activeElement?.id, text: document.activeElement?.textContent }));

  test('Show on Markets keeps focus on Show', async ({ page }) => {
    await page.goto('/markets');
    await hydrated(page);
    const picker = page.getByRole('group', { name: 'Symbols' });
    await picker.getByRole('checkbox', { name: 'ACME' }).uncheck();
    await picker.getByRole('button', { name: 'Show' }).focus();
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(/symbols=BOLT/);
    await expect(page.locator('tr.quote[data-symbol="ACME"]')).toHaveCount(0);
    await expect.poll(() => activeElement(page)).toMatchObject({ tag: 'BUTTON', id: 'show-symbols' });
  });

  test('Cancel on Jobs moves focus to the row, not to the page', async ({ page }) => {
    const id = await startPipeline(page, 6, 500);
    const row = page.locator(`li.job[data-id="${id}"]`);
    await expect(row.locator('.badge').first()).toHaveText('running');
    await row.getByRole('button', { name: /^Cancel/ }).focus();
    await page.keyboard.press('Enter');
    await expect(row.locator('.badge').first()).toHaveText('cancelled', { timeout: 5_000 });
    await expect(row.getByRole('button', { name: /^Cancel/ })).toHaveCount(0);
    await expect.poll(() => activeElement(page)).not.toMatchObject({ tag: 'BODY' });
    expect(await row.evaluate((li) => li.contains(document.activeElement))).toBe(true);
  });
});
