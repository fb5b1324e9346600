/**
 * The page of test/e2e/render.spec.ts. `window.criaRender.renderMarkdown` is
 * the renderer the app and the widget use (the same module instance as the
 * widget's on this dev-server page). With `?model=URL[&max-tokens=N]` the page
 * embeds `<cria-chat>` on that model.
 */
import { renderMarkdown } from '../../../src/ui/markdown.ts';
import '../../../src/widget/index.ts';

declare global {
  interface Window {
    criaRender?: { renderMarkdown: typeof renderMarkdown };
  }
}

window.criaRender = { renderMarkdown };

const params = new URLSearchParams(location.search);
const model = params.get('model');
if (model) {
  const el = document.createElement('cria-chat');
  el.setAttribute('model', model);
  el.setAttribute('max-tokens', params.get('max-tokens') ?? '64');
  // the backend (tests of streaming over time ask for webgpu: SwiftShader streams slowly enough to watch)
  if (params.get('backend')) el.setAttribute('backend', params.get('backend')!);
  document.body.append(el);
}
