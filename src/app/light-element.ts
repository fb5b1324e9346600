/**
 * The app's components render into the light DOM, so one plain stylesheet
 * (style.css and its siblings) themes the whole app, with no per-component
 * style islands. Reactive properties are declared with `static properties`
 * and `declare` fields (no decorators: the fields must not shadow Lit's
 * accessors under `useDefineForClassFields`).
 */
import { LitElement } from 'lit';

export class LightElement extends LitElement {
  protected override createRenderRoot(): HTMLElement {
    return this;
  }
}
