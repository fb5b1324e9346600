/**
 * What the UI may know about the service worker, without loading it:
 * src/app/pwa.ts registers the worker (production builds only) and reports
 * here; the app listens and, if it wants, offers the update. (The build adds
 * pwa.ts to index.html itself: the app's entry need not import it.)
 *
 *   import { onPwaEvent, applyUpdate } from './pwa-hook.ts';
 *   onPwaEvent((e) => { if (e.type === 'update-ready') showReloadButton(() => applyUpdate()); });
 *
 * A new version never takes over on its own: it waits until applyUpdate()
 * (which reloads the page) or until every Cria tab has been closed, so a
 * running chat is never reloaded away.
 */
export type PwaEvent =
  /** the app shell is cached: from now on the app opens with no network */
  | { type: 'offline-ready' }
  /** a new version is downloaded and waiting; applyUpdate() switches to it */
  | { type: 'update-ready' }
  /** the service worker could not be registered (the app still works online) */
  | { type: 'error'; message: string };

export interface PwaState {
  offlineReady: boolean;
  updateReady: boolean;
  error: string | null;
}

const state: PwaState = { offlineReady: false, updateReady: false, error: null };
const listeners = new Set<(e: PwaEvent) => void>();
let updater: (() => Promise<void>) | null = null;

/** Listen for service worker news; events that already happened are replayed. Returns an unsubscribe function. */
export function onPwaEvent(fn: (e: PwaEvent) => void): () => void {
  listeners.add(fn);
  if (state.offlineReady) fn({ type: 'offline-ready' });
  if (state.updateReady) fn({ type: 'update-ready' });
  if (state.error !== null) fn({ type: 'error', message: state.error });
  return () => listeners.delete(fn);
}

export function pwaState(): Readonly<PwaState> {
  return { ...state };
}

/** Switch to the waiting version and reload the page. Does nothing if no update waits. */
export async function applyUpdate(): Promise<void> {
  if (state.updateReady && updater) await updater();
}

/** For src/app/pwa.ts only. */
export function reportPwaEvent(e: PwaEvent): void {
  if ((e.type === 'offline-ready' && state.offlineReady) || (e.type === 'update-ready' && state.updateReady)) return;
  if (e.type === 'offline-ready') state.offlineReady = true;
  else if (e.type === 'update-ready') state.updateReady = true;
  else state.error = e.message;
  for (const fn of listeners) fn(e);
}

/** For src/app/pwa.ts only. */
export function setPwaUpdater(fn: () => Promise<void>): void {
  updater = fn;
}
