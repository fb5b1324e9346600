/**
 * Short notices at the bottom of the page ("Ready to work offline", "A new
 * version is available [Reload]"), for any part of the app, the PWA code
 * included: `notify({ text, action })`. The shell shows them.
 */
export interface Notice {
  id: number;
  text: string;
  action?: { label: string; run: () => void };
  /** milliseconds before it goes away by itself; 0 = stays until dismissed (default 6000, or 0 with an action) */
  timeout?: number;
}

export const notices = new EventTarget();
let list: Notice[] = [];
let seq = 0;

export function currentNotices(): readonly Notice[] {
  return list;
}

export function notify(n: Omit<Notice, 'id'>): number {
  const notice = { ...n, id: ++seq };
  list = [...list, notice];
  notices.dispatchEvent(new Event('change'));
  const timeout = n.timeout ?? (n.action ? 0 : 6000);
  if (timeout > 0) setTimeout(() => dismiss(notice.id), timeout);
  return notice.id;
}

export function dismiss(id: number): void {
  const before = list.length;
  list = list.filter((n) => n.id !== id);
  if (list.length !== before) notices.dispatchEvent(new Event('change'));
}
