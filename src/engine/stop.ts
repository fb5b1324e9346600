/**
 * Stop strings over streamed text. Text is released only when it can no
 * longer be the start of a stop string; when a stop string completes, the
 * text before it is released and generation ends (the stop string itself is
 * not part of the output, as in the OpenAI API).
 */
export class StopMatcher {
  private held = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.done;
  }

  /** Add text; returns what can be emitted now. */
  push(text: string): string {
    if (this.done) return '';
    this.held += text;
    let cut = -1;
    for (const s of this.stops) {
      if (!s) continue;
      const i = this.held.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.done = true;
      const out = this.held.slice(0, cut);
      this.held = '';
      return out;
    }
    // hold back the longest suffix that is a prefix of some stop string
    let keep = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.held.length); k > keep; k--) {
        if (this.held.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    const out = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return out;
  }

  /** End of generation: release whatever is held. */
  flush(): string {
    const out = this.done ? '' : this.held;
    this.held = '';
    return out;
  }
}
