/** A push → pull queue: turns callbacks into an async iterator (streams from the worker). */
export class AsyncQueue<T> {
  private items: T[] = [];
  private waiting?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  private ended = false;
  private error: unknown;
  private failed = false;

  push(item: T): void {
    if (this.ended || this.failed) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: item, done: false });
    } else this.items.push(item);
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(e: unknown): void {
    this.failed = true;
    this.error = e;
    this.wake();
  }

  /** Stop now: items not yet taken are dropped, and the next read rejects with `e`. */
  abort(e: unknown): void {
    if (this.ended) return;
    this.items = [];
    this.fail(e);
  }

  private wake(): void {
    if (!this.waiting || this.items.length) return;
    const w = this.waiting;
    this.waiting = undefined;
    if (this.failed) w.reject(this.error);
    else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.failed) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }
}
