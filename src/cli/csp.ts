/**
 * The Content-Security-Policy of the built app: one definition, used twice so
 * every way of hosting `dist/` gets it:
 * - `cria serve` sends it as an HTTP header on every response (with
 *   `frame-ancestors`, which only a header can carry);
 * - vite.config.ts writes it into the built index.html as a
 *   `<meta http-equiv="Content-Security-Policy">`, for static hosting.
 * The dev server gets neither (Vite's dev client and the test pages need more).
 *
 * Why each directive (checked against what `vite build` emits: entry and
 * chunks as external ES modules, the engine's Worker as its own file in
 * assets/, CSS as <link> files, small assets possibly inlined as data: URLs;
 * no inline script, no eval; the WebAssembly engine's kernels, files from this origin):
 */
export const CSP_DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  // anything not listed below: this origin only
  ['default-src', "'self'"],
  // scripts are files from this origin: no inline scripts, no eval; 'wasm-unsafe-eval' lets the
  // WebAssembly engine compile its kernels (it allows WebAssembly compilation only, not JavaScript eval)
  ['script-src', "'self' 'wasm-unsafe-eval'"],
  // the engine's Web Worker and the service worker are files from this origin
  ['worker-src', "'self'"],
  // models come from Hugging Face (https, with redirects to its CDNs) or a
  // server on this machine; nothing else is ever contacted
  ['connect-src', "'self' https: http://127.0.0.1:* http://localhost:*"],
  // Vite inlines small images and fonts as data: URLs
  ['img-src', "'self' data: blob:"],
  ['font-src', "'self' data:"],
  // stylesheets are files; lit's component styles are constructed
  // stylesheets, which style-src does not govern. No inline style attributes.
  ['style-src', "'self'"],
  ['manifest-src', "'self'"],
  ['object-src', "'none'"],
  ['base-uri', "'self'"],
  ['form-action', "'self'"],
];

/** Only honoured in a header (a <meta> policy ignores it with a console warning). */
const HEADER_ONLY: ReadonlyArray<readonly [string, string]> = [
  // the app is not meant to be framed by other sites (clickjacking); the
  // widget is embedded as a script, not as a frame of this app
  ['frame-ancestors', "'none'"],
];

const join = (ds: ReadonlyArray<readonly [string, string]>) => ds.map(([k, v]) => `${k} ${v}`).join('; ');

/** The policy for the HTTP header (`cria serve`). */
export const CSP_HEADER = join([...CSP_DIRECTIVES, ...HEADER_ONLY]);

/**
 * The widget demo page's policy (public/widget-demo.html, a host page like any site that embeds the
 * widget): the app's, except that the widget's engine worker starts from a `blob:` URL of the page (see
 * README "Embed Cria in your page": what a host page's policy must allow).
 */
export const WIDGET_HOST_CSP_HEADER = join([...CSP_DIRECTIVES.map(([k, v]): readonly [string, string] => (k === 'worker-src' ? [k, `${v} blob:`] : [k, v])), ...HEADER_ONLY]);

/** The same policy for `<meta http-equiv>` (no frame-ancestors). */
export const CSP_META = join(CSP_DIRECTIVES);

/**
 * Cross-origin isolation (COOP + COEP), so SharedArrayBuffer exists and the WebAssembly engine can
 * run threads: sent by the dev server and `vite preview` (vite.config.ts) and by `cria serve`. Every
 * cross-origin fetch the app makes is CORS (model downloads), which COEP require-corp allows.
 */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } as const;
