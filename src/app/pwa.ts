/**
 * Registers the service worker that vite-plugin-pwa generates (vite.config.ts:
 * the app shell precached, model files never touched), in production builds
 * only: on the dev server a service worker would serve stale modules to the
 * test pages. The build adds this module to index.html as its own script
 * (vite.config.ts, builtHtmlPlugins), so the app's entry needs no import; the
 * UI listens through src/app/pwa-hook.ts. workbox-window is loaded only here,
 * in its own chunk, after the page has loaded.
 */
import { reportPwaEvent, setPwaUpdater } from './pwa-hook.ts';

async function registerServiceWorker(): Promise<void> {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  const { Workbox } = await import('workbox-window');
  const base = import.meta.env.BASE_URL;
  const wb = new Workbox(`${base}sw.js`, { scope: base });
  let updating = false;
  wb.addEventListener('waiting', () => reportPwaEvent({ type: 'update-ready' }));
  wb.addEventListener('activated', (e) => {
    if (!e.isUpdate) reportPwaEvent({ type: 'offline-ready' });
  });
  // reload only when the user asked for the update (applyUpdate), never under a running chat
  wb.addEventListener('controlling', (e) => {
    if (e.isUpdate && updating) location.reload();
  });
  setPwaUpdater(async () => {
    updating = true;
    wb.messageSkipWaiting();
  });
  const reg = await wb.register();
  // a returning visit: the worker from last time is already active (and its cache complete)
  if (reg?.active) reportPwaEvent({ type: 'offline-ready' });
}

registerServiceWorker().catch((e: unknown) => {
  const message = `Offline use is unavailable: the service worker could not be registered (${e instanceof Error ? e.message : String(e)}).`;
  console.warn(`cria: ${message}`);
  reportPwaEvent({ type: 'error', message });
});
