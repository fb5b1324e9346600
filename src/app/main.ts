/**
 * The app's entry: theme first (no flash of the wrong one), then the shell,
 * then the capability check, then a model named in the address
 * (`?model=URL`, for links and tests). The UI talks to the engine only
 * through src/client (see engine-state.ts).
 */
import { parseModelAddress } from './address.ts';
import './style.css';
import './chat.css';
import './models.css';
import './device.css';
import { applyTheme } from './theme.ts';
import { engine } from './engine-state.ts';
import { fileNameOf } from './catalogue.ts';
import { showPwaNotices } from './pwa-notices.ts';
import './app-shell.ts';

export { notify } from './notices.ts';
export { engine } from './engine-state.ts';

let started = false;

/** Start the app in `#app` (idempotent). */
export async function startApp(root: HTMLElement | null = document.getElementById('app')): Promise<void> {
  if (started || !root) return;
  started = true;
  applyTheme();
  root.replaceChildren(document.createElement('cria-app'));
  showPwaNotices();
  await engine.checkWebGpu();
  const model = new URLSearchParams(location.search).get('model');
  if (model && !engine.blocked) {
    // a GGUF's URL, or an ONNX model (repository id, base URL ending in /, .onnx URL): as the Models page's address field reads it
    const r = parseModelAddress(model);
    if ('error' in r) await engine.load({ url: model }, fileNameOf(model)); // the engine says what is wrong with it
    else await engine.load(r.source, r.label);
  }
}

void startApp();
