/**
 * Hash routes: #/chat (the default), #/models, #/eval, #/finetune, #/device. Hash routing needs
 * nothing from the server, so the built app works from any static host and
 * offline. The page's query (`?model=URL`) is left alone.
 */
export type Route = 'chat' | 'models' | 'eval' | 'finetune' | 'device';
export const ROUTES: readonly { route: Route; label: string }[] = [
  { route: 'chat', label: 'Chat' },
  { route: 'models', label: 'Models' },
  { route: 'eval', label: 'Eval' },
  { route: 'finetune', label: 'Fine-tune' },
  { route: 'device', label: 'Device' },
];

export function currentRoute(hash = location.hash): Route {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return ROUTES.some((r) => r.route === name) ? (name as Route) : 'chat';
}

export function go(route: Route): void {
  location.hash = `#/${route}`;
}

export function onRouteChange(fn: (r: Route) => void): () => void {
  const h = () => fn(currentRoute());
  window.addEventListener('hashchange', h);
  return () => window.removeEventListener('hashchange', h);
}
