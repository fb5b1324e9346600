/**
 * <cria-app>: the shell: a header (name, navigation, the model's state, the
 * theme toggle), the page for the route (#/chat, #/models, #/eval, #/finetune, #/device), and
 * the notices. Pages stay alive once opened, so an answer keeps streaming
 * while the user looks at another page.
 */
import { html, nothing } from 'lit';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { currentRoute, onRouteChange, ROUTES, type Route } from './router.ts';
import { applyTheme, nextTheme, themeChoice, type ThemeChoice } from './theme.ts';
import { currentNotices, dismiss, notices } from './notices.ts';
import { iconMoon, iconSun, iconSystem } from './icons.ts';
import './chat-view.ts';
import './models-view.ts';
import './device-view.ts';
import './eval-view.ts';
import './finetune-view.ts';

const THEME_ICON = { system: iconSystem, light: iconSun, dark: iconMoon };

export class CriaApp extends LightElement {
  static override properties = {
    route: { state: true },
    theme: { state: true },
  };
  declare route: Route;
  declare theme: ThemeChoice;
  private visited = new Set<Route>();
  private unroute?: () => void;

  constructor() {
    super();
    this.route = currentRoute();
    this.theme = themeChoice();
    new StateController(this, engine);
    new StateController(this, notices);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.unroute = onRouteChange((r) => {
      this.route = r;
      window.scrollTo(0, 0);
      // move focus to the new page's heading, for keyboard and screen-reader users
      this.updateComplete.then(() => this.querySelector<HTMLElement>(`.route-${r} h1, .route-${r} .chat-title`)?.focus({ preventScroll: true }));
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unroute?.();
  }

  private toggleTheme() {
    this.theme = nextTheme(this.theme);
    applyTheme(this.theme);
  }

  protected override willUpdate(): void {
    // style.css: the chat page is one screen tall; the others scroll the document
    this.dataset.route = this.route;
  }

  override render() {
    this.visited.add(this.route);
    const next = nextTheme(this.theme);
    return html`<a class="skip-link" href="#main" @click=${(e: Event) => (e.preventDefault(), this.querySelector<HTMLElement>('#main')?.focus())}>Skip to content</a>
      <header class="topbar">
        <a class="brand" href="#/chat" aria-label="Cria, home">
          <svg class="brand-mark" viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
            <path fill="currentColor" d="M14 9.5 15.5 2l2.5 5.5L20.5 2l1.5 7.5q1 1.8 1 4V30h-8V17h-4.5Q7 17 7 13.5 7 10 10.5 9.8z" />
            <circle cx="18" cy="11.8" r="1.2" fill="var(--bg)" />
          </svg>
          <span>Cria</span>
        </a>
        <nav class="nav" aria-label="Main">
          ${ROUTES.map((r) => html`<a href="#/${r.route}" aria-current=${r.route === this.route ? 'page' : 'false'}>${r.label}</a>`)}
        </nav>
        ${this.modelPill()}
        <button type="button" class="icon-button theme-toggle" @click=${() => this.toggleTheme()} aria-label="Theme: ${this.theme}. Switch to ${next}." title="Theme: ${this.theme} (switch to ${next})">
          ${THEME_ICON[this.theme]()}
        </button>
      </header>
      <main id="main" tabindex="-1">
        ${this.page('chat', html`<cria-chat-view></cria-chat-view>`)} ${this.visited.has('models') ? this.page('models', html`<cria-models-view></cria-models-view>`) : nothing}
        ${this.visited.has('eval') ? this.page('eval', html`<cria-eval-view></cria-eval-view>`) : nothing}
        ${this.visited.has('finetune') ? this.page('finetune', html`<cria-finetune-view></cria-finetune-view>`) : nothing}
        ${this.visited.has('device') ? this.page('device', html`<cria-device-view></cria-device-view>`) : nothing}
      </main>
      <div class="notices" role="status" aria-live="polite">
        ${currentNotices().map(
          (n) => html`<div class="notice-toast">
            <span>${n.text}</span>
            ${n.action ? html`<button type="button" class="button small primary" @click=${() => (dismiss(n.id), n.action!.run())}>${n.action.label}</button>` : nothing}
            <button type="button" class="icon-button" aria-label="Dismiss" @click=${() => dismiss(n.id)}>✕</button>
          </div>`,
        )}
      </div>`;
  }

  private page(route: Route, content: unknown) {
    return html`<div class="route route-${route}" data-route=${route} ?hidden=${this.route !== route}>${content}</div>`;
  }

  private modelPill() {
    const m = engine.model;
    if (engine.blocked) return html`<a class="model-pill bad" href="#/device">No WebGPU</a>`;
    const holder = engine.holder;
    if (holder) {
      // an evaluation has the engine (chat waits): say so, and lead to it
      const pct = m.kind === 'loading' && m.progress && m.progress.totalBytes > 0 ? ` ${Math.floor((100 * m.progress.loadedBytes) / m.progress.totalBytes)}%` : '';
      return html`<a class="model-pill busy" href="#/eval" title=${holder.label}><span class="dot busy" aria-hidden="true"></span><span class="pill-text">${holder.label}</span>${pct}</a>`;
    }
    switch (m.kind) {
      case 'none':
        return html`<a class="model-pill" href="#/models">No model</a>`;
      case 'loading': {
        const p = m.progress;
        const pct = p && p.totalBytes > 0 ? ` ${Math.floor((100 * p.loadedBytes) / p.totalBytes)}%` : '…';
        return html`<a class="model-pill busy" href="#/models" title="Loading ${m.label}"><span class="dot busy" aria-hidden="true"></span><span class="pill-text">${m.label}</span>${pct}</a>`;
      }
      case 'ready':
        return html`<a class="model-pill" href="#/models" title="${m.label} is loaded"><span class="dot ok" aria-hidden="true"></span><span class="pill-text">${m.label}</span></a>`;
      case 'lost':
        return html`<a class="model-pill bad" href="#/chat">GPU reset</a>`;
      case 'error':
        return html`<a class="model-pill bad" href="#/models" title=${m.error.message}>Load failed</a>`;
    }
  }
}
customElements.define('cria-app', CriaApp);

declare global {
  interface HTMLElementTagNameMap {
    'cria-app': CriaApp;
  }
}
