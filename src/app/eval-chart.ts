/**
 * <cria-eval-chart>: scores per category, side by side for several models or runs (as the
 * Vicuna evaluation drew them): one group of horizontal bars per category, one bar per series,
 * in plain SVG from Lit templates. It is drawn at the width it is given (a ResizeObserver), so
 * text keeps its size on a phone instead of shrinking with a viewBox. The same numbers are in
 * the per-category table next to it, which is also what screen readers get.
 */
import { html, nothing, svg } from 'lit';
import { LightElement } from './light-element.ts';

export interface ChartSeries {
  label: string;
  /** value per category; missing = no bar */
  values: Record<string, number | undefined>;
}

const NAME_H = 20;
const BAR_H = 16;
const BAR_GAP = 3;
const GROUP_GAP = 12;
const AXIS_H = 22;
const VALUE_W = 58;

export class CriaEvalChart extends LightElement {
  static override properties = {
    series: { attribute: false },
    categories: { attribute: false },
    max: { attribute: false },
    format: { attribute: false },
    tickFormat: { attribute: false },
    caption: { type: String },
    width: { state: true },
  };
  declare series: ChartSeries[];
  declare categories: string[];
  /** the scale's top; by default the largest value */
  declare max: number | undefined;
  declare format: (v: number) => string;
  /** the axis' numbers (by default `format`) */
  declare tickFormat: ((v: number) => string) | undefined;
  declare caption: string;
  declare width: number;
  private resize?: ResizeObserver;

  constructor() {
    super();
    this.series = [];
    this.categories = [];
    this.max = undefined;
    this.format = (v) => v.toFixed(2);
    this.tickFormat = undefined;
    this.caption = '';
    this.width = 0;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (w > 0 && w !== this.width) this.width = w;
    });
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize?.disconnect();
  }

  override render() {
    const cats = this.categories;
    const series = this.series;
    if (cats.length === 0 || series.length === 0) return nothing;
    const values = series.flatMap((s) => cats.map((c) => s.values[c])).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const max = this.max ?? Math.max(...values, 0);
    const w = Math.max(this.width || 600, 220);
    const plotW = w - VALUE_W;
    const groupH = NAME_H + series.length * (BAR_H + BAR_GAP) + GROUP_GAP;
    const h = AXIS_H + cats.length * groupH;
    const x = (v: number) => (max > 0 ? (Math.max(0, Math.min(v, max)) / max) * plotW : 0);
    const ticks = max > 0 ? [0, 0.25, 0.5, 0.75, 1].map((f) => f * max) : [];
    return html`<ul class="chart-legend" aria-hidden="true">
        ${series.map((s, i) => html`<li><span class="swatch s${i % 6}"></span>${s.label}</li>`)}
      </ul>
      <svg class="eval-chart" width=${w} height=${h} viewBox="0 0 ${w} ${h}" role="img" aria-label=${this.caption || 'Scores per category'}>
        <g class="axis">
          ${ticks.map(
            (t, i) => svg`<line x1=${x(t)} x2=${x(t)} y1=${AXIS_H - 4} y2=${h - GROUP_GAP / 2} class="grid"></line>
              <text x=${x(t)} y=${AXIS_H - 8} text-anchor=${i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle'}>${(this.tickFormat ?? this.format)(t)}</text>`,
          )}
        </g>
        ${cats.map((c, ci) => {
          const y0 = AXIS_H + ci * groupH;
          return svg`<g class="group" data-category=${c}>
            <text class="cat" x="0" y=${y0 + NAME_H - 6}>${c}</text>
            ${series.map((s, si) => {
              const v = s.values[c];
              const y = y0 + NAME_H + si * (BAR_H + BAR_GAP);
              const ok = typeof v === 'number' && Number.isFinite(v);
              const bw = ok ? Math.max(x(v), 1.5) : 0;
              return svg`<g class="bar-row">
                ${ok ? svg`<rect class="bar s${si % 6}" x="0" y=${y} width=${bw} height=${BAR_H} rx="2"><title>${s.label}, ${c}: ${this.format(v)}</title></rect>` : nothing}
                <text class="value" x=${(ok ? bw : 0) + 5} y=${y + BAR_H - 4}>${ok ? this.format(v) : '—'}</text>
              </g>`;
            })}
          </g>`;
        })}
      </svg>`;
  }
}
customElements.define('cria-eval-chart', CriaEvalChart);

declare global {
  interface HTMLElementTagNameMap {
    'cria-eval-chart': CriaEvalChart;
  }
}
