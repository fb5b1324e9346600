/*
 * Imported by the service worker that vite-plugin-pwa generates (vite.config.ts,
 * workbox.importScripts). Model files never pass through the service worker:
 * the engine downloads them with Range requests into its own IndexedDB cache,
 * and they can be gigabytes. Workbox already ignores them (it routes only the
 * precached app shell and navigations), but the browser would still wake the
 * service worker for every request; these static routes (Chrome 123+) make it
 * go straight to the network without starting the worker at all:
 * - every request to another origin (Hugging Face, a local model server);
 * - any .gguf file, even on this origin, asked for without a query (the app asks
 *   for the demo model it ships, public/models/, with `?embedded`: that one the
 *   service worker answers from its precache, so it loads offline).
 * Browsers without the API ignore this file; each rule is added on its own so
 * one the browser does not understand cannot cost the others (or the install).
 */
self.addEventListener('install', (event) => {
  if (typeof event.addRoutes !== 'function' || typeof URLPattern !== 'function') return;
  const here = new URL(self.location.href);
  const rules = [
    {
      condition: { not: { urlPattern: new URLPattern({ protocol: here.protocol.slice(0, -1), hostname: here.hostname, port: here.port }) } },
      source: 'network',
    },
    { condition: { urlPattern: new URLPattern({ pathname: '*.gguf', search: '' }) }, source: 'network' },
  ];
  event.waitUntil(
    Promise.all(
      rules.map((rule) => {
        try {
          return Promise.resolve(event.addRoutes(rule)).catch(() => undefined);
        } catch {
          return undefined;
        }
      }),
    ),
  );
});
