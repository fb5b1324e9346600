/**
 * The widget's styles, all inside its shadow root: nothing here can reach the
 * host page, and the host page's selectors cannot reach in. Only inherited
 * properties (color, font, line-height, …) cross a shadow boundary, from the
 * host element down; `.frame` resets them all (`all: initial`) and sets its
 * own, so the page's typography never shows through. Sizes are in px, not
 * rem, because rem follows the host page's root font size.
 *
 * The one deliberate way in: `--cria-accent` (custom properties inherit
 * through shadow boundaries), for a page that wants its brand colour.
 */
import { css } from 'lit';

export const styles = css`
  :host {
    all: initial;
    display: block;
    contain: content;
    box-sizing: border-box;
    width: 100%;
    max-width: 640px;
    height: 480px;
  }
  :host([hidden]) {
    display: none;
  }

  .frame {
    all: initial;
    box-sizing: border-box;
    display: flex;
    flex-direction: column;
    width: 100%;
    height: 100%;
    overflow: hidden;
    font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
    font-size: 15px;
    font-weight: 400;
    font-style: normal;
    line-height: 1.5;
    letter-spacing: normal;
    text-align: left;
    text-transform: none;
    white-space: normal;
    direction: ltr;
    visibility: visible;
    cursor: auto;
    color: #1f2328;
    background: #ffffff;
    border: 1px solid #d0d7de;
    border-radius: 12px;
    --accent: var(--cria-accent, #4b5fd1);
  }
  .frame *,
  .frame *::before,
  .frame *::after {
    box-sizing: border-box;
  }

  header {
    display: flex;
    align-items: baseline;
    gap: 8px;
    padding: 10px 14px;
    border-bottom: 1px solid #e6e9ed;
    background: #f6f8fa;
  }
  .title {
    font-weight: 600;
  }
  .model {
    flex: 1;
    min-width: 0;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
    color: #57606a;
    font-size: 13px;
  }
  .local {
    color: #1a7f37;
    font-size: 12px;
    white-space: nowrap;
  }

  .notice {
    margin: 0;
    padding: 8px 14px;
    font-size: 13px;
    color: #6b4a00;
    background: #fff8e1;
    border-bottom: 1px solid #f0e0a8;
  }

  .log {
    flex: 1;
    min-height: 0;
    overflow-y: auto;
    padding: 12px 14px;
    display: flex;
    flex-direction: column;
    gap: 10px;
  }
  .log > * {
    /* a short log scrolls; its messages never shrink */
    flex: none;
  }
  .empty {
    margin: auto 0;
    color: #57606a;
    text-align: center;
    font-size: 14px;
  }
  .msg {
    max-width: 88%;
    padding: 8px 12px;
    border-radius: 12px;
    overflow-wrap: anywhere;
  }
  .msg.user {
    align-self: flex-end;
    background: var(--accent);
    color: #ffffff;
    white-space: pre-wrap;
    border-bottom-right-radius: 4px;
  }
  .msg.assistant {
    align-self: flex-start;
    background: #f1f3f5;
    color: #1f2328;
    border-bottom-left-radius: 4px;
  }
  .msg.assistant.streaming .content::after {
    content: '▍';
    color: #8c959f;
  }
  .msg .state {
    display: block;
    margin-top: 4px;
    font-size: 12px;
    color: #6e7781;
  }
  .msg.error .state {
    color: #cf222e;
  }

  /* Markdown from the model (sanitized by src/ui/markdown.ts) */
  .content > :first-child {
    margin-top: 0;
  }
  .content > :last-child {
    margin-bottom: 0;
  }
  .content p,
  .content ul,
  .content ol,
  .content pre,
  .content blockquote,
  .content table {
    margin: 0 0 8px;
  }
  .content ul,
  .content ol {
    padding-left: 22px;
  }
  .content h1,
  .content h2,
  .content h3,
  .content h4,
  .content h5,
  .content h6 {
    margin: 8px 0 4px;
    font-size: 15px;
    font-weight: 600;
  }
  .content code {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 13px;
    background: #e4e7eb;
    padding: 1px 4px;
    border-radius: 4px;
  }
  .content pre {
    padding: 8px 10px;
    overflow-x: auto;
    background: #e4e7eb;
    border-radius: 6px;
  }
  .content pre code {
    padding: 0;
    background: none;
  }
  /* a JSON answer (response-schema / response-format): formatted, wrapped rather than scrolled */
  .content.json pre {
    margin: 0;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  .content blockquote {
    padding-left: 10px;
    border-left: 3px solid #c9ced4;
    color: #57606a;
  }
  .content a {
    color: var(--accent);
    text-decoration: underline;
  }
  .content table {
    border-collapse: collapse;
  }
  .content th,
  .content td {
    border: 1px solid #d0d7de;
    padding: 2px 6px;
  }

  .status {
    padding: 10px 14px;
    border-top: 1px solid #e6e9ed;
    font-size: 13px;
    color: #57606a;
  }
  .bar {
    display: block;
    height: 6px;
    margin-top: 6px;
    border-radius: 3px;
    background: #e6e9ed;
    overflow: hidden;
  }
  .bar > span {
    display: block;
    height: 100%;
    background: var(--accent);
    transition: width 0.2s;
  }
  .bar.indeterminate > span {
    width: 30%;
    animation: slide 1.2s ease-in-out infinite;
  }
  @keyframes slide {
    from {
      margin-left: -30%;
    }
    to {
      margin-left: 100%;
    }
  }

  .card {
    flex: none;
    margin: 12px 14px;
    padding: 12px 14px;
    border: 1px solid #f1aeb5;
    border-radius: 10px;
    background: #fff5f5;
    color: #1f2328;
  }
  .card h2 {
    margin: 0 0 6px;
    font-size: 15px;
    font-weight: 600;
    color: #a40e26;
  }
  .card p {
    margin: 0 0 8px;
  }
  .card .technical {
    font-size: 12px;
    color: #6e7781;
    overflow-wrap: anywhere;
  }

  form {
    display: flex;
    gap: 8px;
    padding: 10px 14px;
    border-top: 1px solid #e6e9ed;
    margin: 0;
  }
  textarea {
    flex: 1;
    min-width: 0;
    resize: none;
    height: 40px;
    max-height: 120px;
    padding: 9px 10px;
    font: inherit;
    color: #1f2328;
    background: #ffffff;
    border: 1px solid #d0d7de;
    border-radius: 8px;
    outline: none;
  }
  textarea:disabled {
    color: #8c959f;
    background: #f6f8fa;
  }
  textarea:focus-visible {
    border-color: var(--accent);
    box-shadow: 0 0 0 2px color-mix(in srgb, var(--accent) 25%, transparent);
  }
  button {
    display: inline-block;
    flex: none;
    height: 40px;
    padding: 0 16px;
    font: inherit;
    font-weight: 600;
    color: #ffffff;
    background: var(--accent);
    border: 1px solid transparent;
    border-radius: 8px;
    cursor: pointer;
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  button:focus-visible {
    outline: 2px solid var(--accent);
    outline-offset: 2px;
  }
  button.secondary {
    color: #1f2328;
    background: #ffffff;
    border-color: #d0d7de;
  }
  .card button {
    height: 34px;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
