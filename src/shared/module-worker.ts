/**
 * Starting a bundled module worker from wherever the bundle is served (the widget's engine, the
 * WebAssembly engine's pool threads).
 *
 * Vite turns `new Worker(new URL('…', import.meta.url), …)` into the URL of the bundled worker (in a
 * build: the emitted chunk, resolved against the module that holds the expression, wherever it is
 * served from; in the dev server: the module with its `?worker_file` query). Where only that URL is
 * wanted (a page of another origin cannot construct a Worker from it), a module imports
 * `WorkerUrl as Worker`: the pattern Vite looks for is lexical, and this stand-in only records its
 * argument.
 *
 * `new Worker(url)` only accepts a same-origin script, but a module worker made from a same-origin
 * `blob:` URL may import a cross-origin module (a CORS request, like any module script): the blob
 * holds one line, `import "<absolute URL of the bundle>"`, and the worker belongs to the page's origin.
 */

/** The stand-in for `Worker` in Vite's worker pattern: records the URL, starts nothing. */
export class WorkerUrl {
  constructor(
    readonly url: URL,
    readonly options: WorkerOptions,
  ) {}
}

/**
 * A module worker of this page's origin that imports the bundle at `url` (any origin that sends CORS
 * headers). The blob revokes its own URL once its import has run (its script has been read by then),
 * or when the import failed. The bundle must not use a top-level await before it listens for
 * messages: a worker takes messages once its module has started evaluating.
 */
export function startBlobModuleWorker(url: string, name: string): Worker {
  const code = `import ${JSON.stringify(url)};\nURL.revokeObjectURL(import.meta.url);\n`;
  const blobUrl = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  const worker = new Worker(blobUrl, { type: 'module', name });
  // an import that failed never reaches the line that revokes
  worker.addEventListener('error', () => URL.revokeObjectURL(blobUrl), { once: true });
  return worker;
}
