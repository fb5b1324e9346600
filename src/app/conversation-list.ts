/**
 * <cria-conversation-list>: the saved conversations, newest first: open one,
 * start a new one, rename (inline) or delete (asks first, inline). It only
 * raises events; the chat view owns the data.
 *   select {id} · new · rename {id, title} · delete {id} · close (the phone panel)
 */
import { html, nothing, type PropertyValues } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { LightElement } from './light-element.ts';
import { formatWhen } from './format.ts';
import type { Conversation } from './conversations.ts';
import { iconEdit, iconPlus, iconTrash } from './icons.ts';

export class CriaConversationList extends LightElement {
  static override properties = {
    conversations: { attribute: false },
    currentId: { type: String },
    renaming: { state: true },
    confirming: { state: true },
  };
  declare conversations: Conversation[];
  declare currentId: string;
  declare renaming: string | undefined;
  declare confirming: string | undefined;

  constructor() {
    super();
    this.conversations = [];
    this.currentId = '';
    this.renaming = undefined;
    this.confirming = undefined;
  }

  private emit(type: string, detail?: unknown) {
    this.dispatchEvent(new CustomEvent(type, { bubbles: true, detail }));
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('renaming') && this.renaming) this.querySelector<HTMLInputElement>('.conv-rename input')?.select();
  }

  override render() {
    return html`<nav class="conv-list" aria-label="Conversations">
      <div class="conv-list-head">
        <h2>Conversations</h2>
        <button type="button" class="button small primary" @click=${() => this.emit('new')}>${iconPlus()} New chat</button>
        <button type="button" class="icon-button conv-close" aria-label="Close the conversation list" @click=${() => this.emit('close')}>✕</button>
      </div>
      ${this.conversations.length === 0 ? html`<p class="muted small conv-empty">No conversations yet. They are kept in this browser only.</p>` : nothing}
      <ul>
        ${repeat(
          this.conversations,
          (c) => c.id,
          (c) => this.item(c),
        )}
      </ul>
    </nav>`;
  }

  private item(c: Conversation) {
    const current = c.id === this.currentId;
    if (this.renaming === c.id) {
      return html`<li class="conv-item" ?data-current=${current}>
        <form class="conv-rename" @submit=${(e: Event) => this.finishRename(e, c.id)}>
          <label class="visually-hidden" for="rename-${c.id}">New name</label>
          <input id="rename-${c.id}" .value=${c.title} @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && ((this.renaming = undefined), e.stopPropagation())} />
          <button type="submit" class="button small">Save</button>
        </form>
      </li>`;
    }
    if (this.confirming === c.id) {
      return html`<li class="conv-item confirm" ?data-current=${current}>
        <span class="small">Delete “${c.title}”?</span>
        <span class="conv-actions">
          <button type="button" class="button small danger" @click=${() => ((this.confirming = undefined), this.emit('delete', { id: c.id }))}>Delete</button>
          <button type="button" class="button small" @click=${() => (this.confirming = undefined)}>Keep</button>
        </span>
      </li>`;
    }
    return html`<li class="conv-item" ?data-current=${current}>
      <button type="button" class="conv-open" aria-current=${current ? 'true' : 'false'} @click=${() => this.emit('select', { id: c.id })}>
        <span class="conv-title">${c.title}</span>
        <span class="conv-when muted small">${formatWhen(c.updatedAt)} · ${c.messages.length} message${c.messages.length === 1 ? '' : 's'}</span>
      </button>
      <span class="conv-actions">
        <button type="button" class="icon-button" aria-label="Rename “${c.title}”" title="Rename" @click=${() => (this.renaming = c.id)}>${iconEdit()}</button>
        <button type="button" class="icon-button" aria-label="Delete “${c.title}”" title="Delete" @click=${() => (this.confirming = c.id)}>${iconTrash()}</button>
      </span>
    </li>`;
  }

  private finishRename(e: Event, id: string) {
    e.preventDefault();
    const title = (this.querySelector<HTMLInputElement>('.conv-rename input')?.value ?? '').trim();
    this.renaming = undefined;
    if (title) this.emit('rename', { id, title });
  }
}
customElements.define('cria-conversation-list', CriaConversationList);

declare global {
  interface HTMLElementTagNameMap {
    'cria-conversation-list': CriaConversationList;
  }
}
