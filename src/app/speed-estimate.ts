/**
 * What decode speed a measured memory bandwidth allows. Writing one token
 * reads every weight once, so a small model on a GPU is limited by memory
 * bandwidth: tokens/s ≤ bandwidth / model bytes. Real speed is lower
 * (kernels reach a fraction of the peak, plus the KV cache and overheads),
 * so the estimate takes an efficiency factor and the verdict is a rough one.
 */
export type Verdict = 'good' | 'usable' | 'slow';

/** the share of measured bandwidth a decode step typically achieves */
export const DECODE_EFFICIENCY = 0.6;

export function estimateTokensPerSecond(readGBps: number, modelBytes: number, efficiency = DECODE_EFFICIENCY): number {
  return (readGBps * 1e9 * efficiency) / modelBytes;
}

/** ≥ 15 tokens/s reads faster than people do; 5–15 is usable; below is slow */
export function verdict(tokensPerSecond: number): Verdict {
  return tokensPerSecond >= 15 ? 'good' : tokensPerSecond >= 5 ? 'usable' : 'slow';
}

export const VERDICT_LABEL: Record<Verdict, string> = { good: 'runs well', usable: 'usable', slow: 'slow' };
