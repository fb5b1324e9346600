/**
 * bench_read reference: the wrapping (mod 2³²) sum of the u32 words of each
 * consecutive slice of `wordsPerGroup` words (the last slice may be shorter).
 * Integer arithmetic, so the GPU result must match bit for bit.
 * words [n] → sums [⌈n / wordsPerGroup⌉].
 */
export function benchRead(words: Uint32Array, wordsPerGroup: number): Uint32Array {
  const groups = Math.ceil(words.length / wordsPerGroup);
  const out = new Uint32Array(groups);
  for (let g = 0; g < groups; g++) {
    const end = Math.min((g + 1) * wordsPerGroup, words.length);
    let s = 0;
    for (let i = g * wordsPerGroup; i < end; i++) s = (s + words[i]) >>> 0;
    out[g] = s;
  }
  return out;
}

/** The wrapping sum of all words: what the group sums of bench_read add up to (mod 2³²). */
export function wrappingSum(words: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < words.length; i++) s = (s + words[i]) >>> 0;
  return s;
}
