/** The app shell loads, says what it is, and reports WebGPU honestly. */
import { expect, test } from '@playwright/test';

test('app shell loads and reports WebGPU available under our flags', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle('Cria');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Cria');
  const status = page.locator('#webgpu-status');
  await expect(status).toHaveAttribute('data-webgpu', 'available');
  await expect(status).toContainText('WebGPU is available');
});

test('app shell tells the user what to do when WebGPU is missing', async ({ page }) => {
  // Simulate a browser without WebGPU: remove the API before any page script runs.
  await page.addInitScript(() => {
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  await page.goto('/');
  const status = page.locator('#webgpu-status');
  await expect(status).toHaveAttribute('data-webgpu', 'unavailable');
  await expect(status).toContainText('Cria needs WebGPU');
  await expect(status).toContainText('Chrome or Edge');
});
