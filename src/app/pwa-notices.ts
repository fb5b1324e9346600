/**
 * Service worker news (src/app/pwa-hook.ts, owned by the PWA code) as
 * notices: "ready to work offline" once, the first time; "a new version is
 * ready" with a Reload button, never reloading by itself under a chat.
 */
import { applyUpdate, onPwaEvent } from './pwa-hook.ts';
import { notify } from './notices.ts';

const OFFLINE_SHOWN = 'cria-offline-ready-shown';

export function showPwaNotices(): () => void {
  return onPwaEvent((e) => {
    if (e.type === 'offline-ready') {
      try {
        if (localStorage.getItem(OFFLINE_SHOWN)) return;
        localStorage.setItem(OFFLINE_SHOWN, '1');
      } catch {
        return;
      }
      notify({ text: 'Cria is ready to work offline: this app now opens without a network.' });
    } else if (e.type === 'update-ready') {
      notify({ text: 'A new version of Cria is ready.', action: { label: 'Reload', run: () => void applyUpdate() } });
    } else {
      console.warn(`cria: ${e.message}`);
    }
  });
}
