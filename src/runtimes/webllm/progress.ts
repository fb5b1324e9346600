/**
 * WebLLM's load progress (its `InitProgressReport`: a fraction, seconds elapsed and a sentence) as
 * Cria's `LoadProgress` (phase, bytes, rate, ETA). WebLLM says which stage it is in only in the
 * sentence, so the sentence is read; a sentence this version does not write is ignored, never guessed.
 * The weights' total comes from the model's ndarray-cache.json (read before the load), and shards an
 * interrupted download had already stored are counted as resumed, not as speed.
 */
import type { LoadProgress } from '../../protocol/api.ts';

/** WebLLM's InitProgressReport (@mlc-ai/web-llm 0.2.79, lib/types.d.ts). */
export interface MlcInitReport {
  progress: number;
  /** seconds since its stage began, rounded up */
  timeElapsed: number;
  text: string;
}

const FETCH = /^Fetching param cache\[(\d+)\/(\d+)\]/;
const FROM_CACHE = /^Loading model from cache\[(\d+)\/(\d+)\]/;
const SHADERS = /^Loading GPU shader modules\[(\d+)\/(\d+)\]/;

export class MlcProgress {
  /**
   * @param totalBytes the weights' bytes (ndarray-cache.json: the sum of its shards' nbytes)
   * @param resumedBytes bytes of shards already in WebLLM's cache when the load began
   */
  constructor(
    private readonly totalBytes: number,
    private readonly resumedBytes = 0,
  ) {}

  /** The LoadProgress a report means, or undefined for one that carries nothing to show. */
  map(r: MlcInitReport): LoadProgress | undefined {
    const total = this.totalBytes;
    const done = Math.round(Math.min(1, Math.max(0, Number.isFinite(r.progress) ? r.progress : 0)) * total);
    let m: RegExpExecArray | null;
    if (FETCH.test(r.text)) {
      // bytes fetched now (shards already stored count as resumed); a rate only once a second has passed
      const fresh = Math.max(0, done - this.resumedBytes);
      const rate = r.timeElapsed > 0 && fresh > 0 ? fresh / r.timeElapsed : undefined;
      return {
        phase: 'download',
        loadedBytes: done,
        totalBytes: total,
        ...(this.resumedBytes > 0 ? { resumedBytes: this.resumedBytes } : {}),
        ...(rate !== undefined ? { bytesPerSecond: rate, etaSeconds: (total - done) / rate } : {}),
      };
    }
    if (FROM_CACHE.test(r.text)) return { phase: 'upload', loadedBytes: done, totalBytes: total };
    if ((m = SHADERS.exec(r.text))) return { phase: 'compile', loadedBytes: Number(m[1]), totalBytes: Number(m[2]) };
    return undefined;
  }
}
