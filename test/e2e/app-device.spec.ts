/**
 * The app's Device page (adapter, f16, features, limits, Measure with what
 * it means for the catalogue, the loaded model's roofline), the theme
 * toggle, and keyboard basics (a skip link, visible focus).
 */
import { expect, test } from '@playwright/test';
import type { ModelServer } from '../server/model-server.ts';
import { openWithModel, privateModelServer, send, STORIES_PATH, unlabelledControls, waitForAnswer } from './app-helpers.ts';

let server: ModelServer | undefined;
test.afterAll(async () => server?.close());

test('the Device page shows the adapter, f16, features and limits, and measures', async ({ page }) => {
  await page.goto('/#/device');
  const route = page.locator('.route-device');
  await expect(route.getByRole('heading', { name: 'Graphics adapter' })).toBeVisible();
  await expect(route.locator('.adapter-name')).toContainText(/swiftshader/i);
  await expect(route.getByText('16-bit floats (shader-f16)')).toBeVisible();
  await expect(route.locator('.chips .chip').first()).toBeVisible();
  await expect(route.locator('.limits-table').first()).toContainText('maxStorageBufferBindingSize');
  await route.getByText(/^All \d+ limits$/).click();
  await expect(route.locator('.more-limits .limits-table')).toContainText('maxBindGroups');
  expect(await unlabelledControls(page)).toEqual([]);

  await route.getByRole('button', { name: 'Measure' }).click();
  // measureDevice() gives numbers, or (in a build without it) says it is not available yet
  const result = route.getByTestId('measurement').or(route.getByText('Measuring is not available'));
  await expect(result).toBeVisible({ timeout: 60_000 });
  if (await route.getByTestId('measurement').isVisible()) {
    await expect(route.getByTestId('measurement')).toContainText(/[\d.]+ GB\/s/);
    await expect(route.getByTestId('measurement')).toContainText(/\d+ GFLOP\/s/);
    const rows = route.locator('.estimate-table tbody tr');
    // the catalogue's GGUF models, the built-in demo first: the estimates are Cria's engine's (ONNX entries run on onnxruntime-web)
    await expect(rows).toHaveCount(8);
    await expect(rows.first()).toContainText('Cria demo');
    const smol = rows.filter({ hasText: 'SmolLM2 135M Instruct' });
    await expect(smol).toHaveCount(1);
    await expect(smol.locator('.badge')).toHaveText(/runs well|usable|slow/);
    await expect(route.getByRole('button', { name: 'Measure again' })).toBeEnabled();
    // no model loaded: the roofline says what it needs
    await expect(route.locator('.roofline-empty')).toContainText('Load a model');
  }
});

test("with a model loaded, the Device page shows its roofline: the ceiling beside the decode speed (the chat's, then measured)", async ({ page }) => {
  server ??= await privateModelServer();
  // the roofline is the GPU's: the model on WebGPU (Automatic would pick WebAssembly on SwiftShader)
  await openWithModel(page, `${server.url}${STORIES_PATH}`, '#/chat', { backend: 'webgpu' });
  await send(page, 'Once upon a time');
  await waitForAnswer(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Device' }).click();
  const route = page.locator('.route-device');
  await expect(route.getByTestId('backend-kind')).toHaveText('the GPU (WebGPU)');
  await expect(route.getByTestId('backend-reason')).toHaveText('WebGPU, as asked');
  await route.getByRole('button', { name: 'Measure' }).click();
  const roofline = route.getByTestId('roofline');
  await expect(roofline.or(route.getByText('Measuring is not available'))).toBeVisible({ timeout: 60_000 });
  test.skip(!(await roofline.isVisible()), 'measureDevice is not available in this build');

  await expect(roofline).toContainText('stories260K-f32.gguf');
  await expect(roofline).toContainText(/Weights read per token\s*[\d.]+ (kB|MB)/);
  const tps = async (id: string) => Number(/([\d.]+) tokens\/s/.exec((await route.getByTestId(id).textContent()) ?? '')?.[1]);
  const ceiling = await tps('ceiling');
  expect(ceiling).toBeGreaterThan(0);
  // the chat answer's speed, as a share of the ceiling
  await expect(roofline).toContainText(/% of the ceiling; latest chat answer/);
  const fromChat = await tps('decode-speed');
  expect(fromChat).toBeGreaterThan(0);
  const share = (text: string) => Number(/\((\d+)% of the ceiling/.exec(text)?.[1]);
  expect(Math.abs(share((await roofline.textContent())!) - (100 * fromChat) / ceiling)).toBeLessThanOrEqual(2); // the displayed figures are rounded

  await route.getByRole('button', { name: 'Measure decode speed' }).click();
  await expect(roofline).toContainText('32 tokens just now', { timeout: 60_000 });
  expect(await tps('decode-speed')).toBeGreaterThan(0);
  expect(await unlabelledControls(page)).toEqual([]);
});

test('the theme toggle goes system → light → dark and is remembered', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/');
  const html = page.locator('html');
  const toggle = page.getByRole('button', { name: /^Theme: / });
  await expect(html).not.toHaveAttribute('data-theme');
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  expect(await bg()).not.toBe(light);
  await page.reload();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await page.getByRole('button', { name: /^Theme: dark/ }).click();
  await expect(html).not.toHaveAttribute('data-theme');
  // the system's choice is followed when nothing is picked
  await page.emulateMedia({ colorScheme: 'dark' });
  expect(await bg()).not.toBe(light);
});

test('keyboard: a skip link first, then the navigation, with a visible focus ring', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('.chat-log')).toBeVisible();
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  expect((await skip.boundingBox())!.y).toBeGreaterThanOrEqual(0);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const chat = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chat' });
  await expect(chat).toBeFocused();
  const outline = await chat.evaluate((el) => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth);
  expect(outline).toMatch(/solid [1-9]/);
  // the navigation works from the keyboard
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#\/models$/);
  await expect(page.locator('.route-models')).toBeVisible();
  await expect(page.locator('.route-chat')).toBeHidden();
});

test('the app makes no request of its own beyond its origin (no fonts, images or analytics)', async ({ page, baseURL }) => {
  const foreign: string[] = [];
  const origin = new URL(baseURL!).origin;
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== origin) foreign.push(r.url());
  });
  for (const hash of ['#/chat', '#/models', '#/device']) {
    await page.goto(`/${hash}`);
    await expect(page.locator(`.route-${hash.slice(2)}`)).toBeVisible();
  }
  await page.getByRole('button', { name: 'Measure' }).click();
  await expect(page.getByTestId('measurement').or(page.getByText('Measuring is not available'))).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: /^Theme: / }).click();
  expect(foreign).toEqual([]);
});
