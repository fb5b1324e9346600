/**
 * <cria-confirm>: a modal question with two answers, as a promise:
 *   if (await confirmEl.ask({ title, message, confirm: 'Download anyway' })) …
 * (window.confirm would block the page and cannot be styled or themed.)
 */
import { html } from 'lit';
import { LightElement } from './light-element.ts';

export interface ConfirmOptions {
  title: string;
  message: string;
  confirm: string;
  cancel?: string;
  danger?: boolean;
}

export class CriaConfirm extends LightElement {
  static override properties = { options: { state: true } };
  declare options: ConfirmOptions;
  private resolve?: (ok: boolean) => void;

  constructor() {
    super();
    this.options = { title: '', message: '', confirm: 'OK' };
  }

  async ask(options: ConfirmOptions): Promise<boolean> {
    this.resolve?.(false);
    this.options = options;
    await this.updateComplete;
    const dialog = this.querySelector('dialog')!;
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise((resolve) => (this.resolve = resolve));
  }

  private onClose = (e: Event) => {
    const ok = (e.target as HTMLDialogElement).returnValue === 'confirm';
    this.resolve?.(ok);
    this.resolve = undefined;
  };

  override render() {
    const o = this.options;
    return html`<dialog class="dialog confirm-dialog" aria-labelledby="confirm-title" aria-describedby="confirm-message" @close=${this.onClose}>
      <form method="dialog" class="dialog-body">
        <h2 id="confirm-title">${o.title}</h2>
        <p id="confirm-message">${o.message}</p>
        <footer class="dialog-foot">
          <button type="submit" value="cancel" class="button" autofocus>${o.cancel ?? 'Cancel'}</button>
          <button type="submit" value="confirm" class="button ${o.danger ? 'danger' : 'primary'}">${o.confirm}</button>
        </footer>
      </form>
    </dialog>`;
  }
}
customElements.define('cria-confirm', CriaConfirm);

declare global {
  interface HTMLElementTagNameMap {
    'cria-confirm': CriaConfirm;
  }
}
