/**
 * The built app as users get it: `npm run build` served by `cria serve` on
 * APP_BUILT (playwright.config.ts), never the dev server.
 * - installable: Chromium's own installability check (CDP
 *   Page.getInstallabilityErrors) finds nothing wrong, and the manifest parses
 *   with the fields and icons we declare;
 * - the service worker precaches the app shell (the engine worker's bundle
 *   included) and nothing else: no model file in any cache;
 * - the Content-Security-Policy is in the header and in the HTML, the HTML has
 *   no inline script, and the app runs under it with no violation.
 * pwa-offline.spec.ts covers the offline chat.
 */
import { chromium, expect, test, type CDPSession, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_WEBGPU_ARGS, findChromium } from '../../src/cli/chromium.ts';
import { CSP_HEADER, CSP_META } from '../../src/cli/csp.ts';
import { APP_BUILT } from '../server/ports.ts';
import { serviceWorkerReady, watchCsp } from './pwa-support.ts';

test.use({ baseURL: APP_BUILT });

async function cdp(page: Page): Promise<CDPSession> {
  return page.context().newCDPSession(page);
}

test('the built app is installable: no installability errors, and the manifest is what we declare', async () => {
  // Playwright's usual contexts are incognito, where Chromium never offers to install
  // ("in-incognito"): this test runs in a browser with a real (temporary) profile.
  const profile = mkdtempSync(join(tmpdir(), 'cria-pwa-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: findChromium(), args: [...CHROMIUM_WEBGPU_ARGS], headless: true });
  try {
    await installable(context.pages()[0] ?? (await context.newPage()));
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

async function installable(page: Page): Promise<void> {
  await page.goto(`${APP_BUILT}/`);
  await serviceWorkerReady(page);
  const session = await cdp(page);
  const { installabilityErrors } = await session.send('Page.getInstallabilityErrors');
  expect(installabilityErrors, JSON.stringify(installabilityErrors)).toEqual([]);

  const manifest = await session.send('Page.getAppManifest');
  expect(manifest.url).toBe(`${APP_BUILT}/manifest.webmanifest`);
  expect(manifest.errors).toEqual([]);
  const m = JSON.parse(manifest.data!);
  expect(m).toMatchObject({ name: 'Cria', short_name: 'Cria', start_url: '/', scope: '/', display: 'standalone' });
  expect(m.description).toBeTruthy();
  expect(m.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
  expect(m.background_color).toMatch(/^#[0-9a-f]{6}$/i);
  const icons = m.icons as { src: string; sizes: string; type: string; purpose: string }[];
  for (const [size, purpose] of [['192x192', 'any'], ['512x512', 'any'], ['512x512', 'maskable']]) {
    expect(icons.some((i) => i.sizes === size && i.purpose === purpose && i.type === 'image/png'), `${size} ${purpose}`).toBe(true);
  }
  // every icon is a real image of the size it claims
  for (const icon of icons.filter((i) => i.type === 'image/png')) {
    const dims = await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      return `${img.naturalWidth}x${img.naturalHeight}`;
    }, icon.src);
    expect(dims, icon.src).toBe(icon.sizes);
  }
}

test('the service worker precaches the app shell, the engine worker included, and no model file but the built-in demo', async ({ page, request }) => {
  await page.goto('/');
  await serviceWorkerReady(page);
  const cached = await page.evaluate(async () => {
    const urls: string[] = [];
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
    }
    return urls;
  });
  expect(cached).toContain('/index.html');
  expect(cached).toContain('/manifest.webmanifest');
  expect(cached).toContain('/icons/icon-192.png');
  expect(cached.some((u) => /^\/assets\/.*\.js$/.test(u))).toBe(true);
  expect(cached.some((u) => /^\/assets\/.*\.css$/.test(u))).toBe(true);
  // the engine's worker bundle, whatever the entry names it: every assets/*.js the build has is precached
  const sw = await (await request.get('/sw.js')).text();
  const precached = [...sw.matchAll(/url:"([^"]+)"/g)].map((m) => `/${m[1]}`);
  expect(precached.some((u) => /engine\.worker-.*\.js$/.test(u)), `engine worker in ${precached.join(' ')}`).toBe(true);
  expect(cached).toEqual(expect.arrayContaining(precached));
  if ((await request.get('/models.json')).headers()['content-type']?.startsWith('application/json')) {
    expect(cached).toContain('/models.json');
  }
  // the demo model that ships with the app (public/models/), and never another model, a source map or the widget (built for other origins)
  expect(cached).toContain('/models/cria-demo.gguf');
  expect(cached.filter((u) => /\.gguf$|\.map$|^\/widget/.test(u) && !u.startsWith('/models/'))).toEqual([]);
  // no runtime caching: the only caches are Workbox's precache
  const names = await page.evaluate(() => caches.keys());
  expect(names.every((n) => n.startsWith('workbox-precache'))).toBe(true);
});

test('model downloads bypass the service worker: static routes for other origins and .gguf files are registered', async ({ page, context }) => {
  await page.goto('/');
  await serviceWorkerReady(page);
  // Chromium shows a registration's static router rules (Chrome 123+) on its internals page
  const internals = await context.newPage();
  await internals.goto('chrome://serviceworker-internals/');
  const text = await internals.locator('body').innerText();
  const line = text.split('\n').find((l) => l.startsWith('Static router rules:'));
  expect(line, 'chrome://serviceworker-internals lists static router rules').toBeTruthy();
  const rules = JSON.parse(line!.slice('Static router rules:'.length)) as { condition: Record<string, any>; source: string[] }[];
  const here = new URL(APP_BUILT);
  const notHere = rules.find((r) => r.condition.not?.urlPattern?.hostname === here.hostname && r.condition.not?.urlPattern?.port === here.port);
  expect(notHere?.source, 'every other origin goes to the network').toEqual(['network']);
  const gguf = rules.find((r) => r.condition.urlPattern?.pathname === '*.gguf');
  expect(gguf?.source, 'any .gguf goes to the network').toEqual(['network']);
  // …asked for without a query: the demo model the app ships is asked for with ?embedded, from the precache
  expect(gguf?.condition.urlPattern?.search).toBe('');
  await internals.close();
});

test('the Content-Security-Policy is sent as a header and written in the HTML, and the app runs under it', async ({ page }) => {
  const violations = await watchCsp(page);
  const res = await page.goto('/');
  expect(res!.headers()['content-security-policy']).toBe(CSP_HEADER);
  // the same policy for static hosting, first in <head> (before any script)
  const meta = page.locator('head meta[http-equiv="Content-Security-Policy"]');
  await expect(meta).toHaveAttribute('content', CSP_META);
  expect(await page.evaluate(() => document.head.firstElementChild?.nextElementSibling?.getAttribute('http-equiv'))).toBe('Content-Security-Policy');
  // no inline script or event handler anywhere in the built page
  const html = await (await page.request.get('/')).text();
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
  expect(html).not.toMatch(/\son[a-z]+=/i);
  // 'wasm-unsafe-eval' lets WebAssembly compile (the CPU engine); eval of script stays refused
  expect(CSP_HEADER).not.toMatch(/unsafe-inline|(?<!wasm-)unsafe-eval/);
  expect(CSP_HEADER).toContain("script-src 'self' 'wasm-unsafe-eval'");
  // the engine's worker gets the policy with its own script
  const worker = page.workers()[0] ?? (await page.waitForEvent('worker', { timeout: 30_000 }));
  expect((await page.request.get(new URL(worker.url()).pathname)).headers()['content-security-policy']).toBe(CSP_HEADER);

  // every page of the app, served by the service worker too
  await serviceWorkerReady(page);
  await page.reload();
  for (const route of ['#/chat', '#/models', '#/device']) {
    await page.goto(`/${route}`);
    await expect(page.locator('main')).toBeVisible();
    await page.waitForTimeout(500);
  }
  expect(await violations()).toEqual([]);
});
