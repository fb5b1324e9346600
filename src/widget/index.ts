/**
 * widget.js: the embeddable Cria chat. One script tag defines `<cria-chat>`:
 *
 *   <script type="module" src="https://…/widget.js"></script>
 *   <cria-chat model="https://…/model.gguf"></cria-chat>
 *
 * Built by vite.widget.config.ts into dist/widget.js (+ dist/widget-assets/).
 */
import { CriaChat } from './cria-chat.ts';

export { CriaChat };
export type { CriaErrorDetail, CriaTokenDetail } from './cria-chat.ts';
export type { LoadProgress, ModelInfo } from '../protocol/api.ts';

// a page may load widget.js twice (two copies of a snippet): the first definition stays
if (!customElements.get('cria-chat')) customElements.define('cria-chat', CriaChat);
