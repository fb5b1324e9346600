/**
 * A few line icons, inline SVG (no icon font, no request). Decorative:
 * every button that shows one also has a text label or an aria-label.
 */
import { svg, html } from 'lit';

const icon = (paths: ReturnType<typeof svg>) =>
  html`<svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${paths}</svg>`;

export const iconEdit = () => icon(svg`<path d="M12 20h9"/><path d="M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4Z"/>`);
export const iconTrash = () => icon(svg`<path d="M3 6h18"/><path d="M8 6V4h8v2"/><path d="M19 6l-1 14H6L5 6"/>`);
export const iconPlus = () => icon(svg`<path d="M12 5v14M5 12h14"/>`);
export const iconSettings = () =>
  icon(svg`<path d="M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3M1 14h6M9 8h6M17 16h6"/>`);
export const iconStop = () => icon(svg`<rect x="6" y="6" width="12" height="12" rx="1.5"/>`);
export const iconSend = () => icon(svg`<path d="M22 2 11 13"/><path d="M22 2 15 22l-4-9-9-4Z"/>`);
export const iconSun = () => icon(svg`<circle cx="12" cy="12" r="4"/><path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"/>`);
export const iconMoon = () => icon(svg`<path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8Z"/>`);
export const iconSystem = () => icon(svg`<rect x="2" y="4" width="20" height="13" rx="2"/><path d="M8 21h8M12 17v4"/>`);
export const iconList = () => icon(svg`<path d="M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01"/>`);
export const iconRefresh = () => icon(svg`<path d="M21 12a9 9 0 1 1-3-6.7L21 8"/><path d="M21 3v5h-5"/>`);
