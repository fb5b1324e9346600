/**
 * The embeddable widget: `src/widget/index.ts` built in library mode into
 * `dist/widget.js`, an ES module a page loads with one script tag from any
 * origin. Its engine worker (src/worker/engine.worker.ts) and everything else
 * it loads go to `dist/widget-assets/`; every URL among them is resolved
 * against `import.meta.url`, so the files work from wherever they are served
 * (with CORS: the host page is usually on another origin).
 *
 * Runs after the app's build (`vite build && vite build --config vite.widget.config.ts`)
 * and never empties dist/. Standalone on purpose: the app's config carries the
 * PWA and dev-server plugins, which have nothing to do with the widget.
 */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  // asset URLs relative to widget.js (never to the host page or the server root)
  base: './',
  resolve: {
    alias: { '@kernels': `${root}kernels` },
  },
  // library mode does not replace process.env.NODE_ENV; widget.js goes straight to browsers
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: false,
    assetsDir: 'widget-assets',
    sourcemap: true,
    // library mode keeps ES output unminified for bundlers downstream; widget.js is the end product
    minify: 'oxc',
    // widget.js must not pull a stylesheet the host page would have to link: styles live in the shadow root
    cssCodeSplit: false,
    copyPublicDir: false,
    lib: {
      entry: `${root}src/widget/index.ts`,
      formats: ['es'],
      fileName: () => 'widget.js',
    },
    rolldownOptions: {
      output: {
        minify: true,
        // library mode would put chunks and assets beside widget.js; keep them together, named as widget files
        chunkFileNames: 'widget-assets/[name]-[hash].js',
        assetFileNames: 'widget-assets/[name]-[hash][extname]',
      },
    },
  },
});
