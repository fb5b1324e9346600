/** Shared by test/e2e/pwa*.spec.ts: watching for CSP violations, waiting for the service worker. */
import type { Page } from '@playwright/test';

declare global {
  interface Window {
    __cspViolations?: string[];
  }
}

/**
 * Collect every Content-Security-Policy violation of the page and of its
 * workers, from the first script on. Three sources, because none sees all:
 * the document's `securitypolicyviolation` events, its console, and the
 * browser's log over CDP, the only one that also reports the engine's Web
 * Worker (which gets the policy from its own response header).
 * Call before the first navigation; the returned function lists them.
 */
export async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  const seen: string[] = [];
  const isCsp = (t: string) => /Content.Security.Policy|Refused to (load|connect|execute|apply|create|frame)/i.test(t);
  page.on('console', (m) => {
    if (isCsp(m.text())) seen.push(`console ${m.type()}: ${m.text()}`);
  });
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Log.entryAdded', ({ entry }) => {
    if (isCsp(entry.text)) seen.push(`log (${entry.source}) ${entry.level}: ${entry.text}`);
  });
  await cdp.send('Log.enable');
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations!.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return async () => {
    const events = await page.evaluate(() => window.__cspViolations ?? []).catch(() => [] as string[]);
    return [...events.map((e) => `event: ${e}`), ...seen];
  };
}

/** Wait until a service worker is active (its precache complete) and controls the page. */
export async function serviceWorkerReady(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise<void>((ok) => navigator.serviceWorker.addEventListener('controllerchange', () => ok(), { once: true }));
    }
  });
}
