/**
 * Where the browser tests' servers listen (playwright.config.ts starts them).
 * Plain constants: importable from Playwright specs and from pages alike.
 */

/** The Vite dev server: the app and the test pages. */
export const APP_SERVER_PORT = 5199;
export const APP_SERVER = `http://127.0.0.1:${APP_SERVER_PORT}`;

/**
 * test/server/model-server.ts: the fixtures under `/models/<path>` on another
 * origin than the pages, with fault injection (`/__control`, `/__reset`, `/__log`).
 */
export const MODEL_SERVER_PORT = 5198;
export const MODEL_SERVER = `http://127.0.0.1:${MODEL_SERVER_PORT}`;

/**
 * The built app (`npm run build`) served by `cria serve`: what users get, with
 * its service worker and Content-Security-Policy (test/e2e/pwa.spec.ts).
 */
export const APP_BUILT_PORT = 5197;
export const APP_BUILT = `http://127.0.0.1:${APP_BUILT_PORT}`;
