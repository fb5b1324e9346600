/**
 * Cross-entropy over the vocabulary, the training loss: for each row t with a target (targets[t] ≥ 0;
 * −1: not scored, e.g. prompt tokens when only the answer is learned),
 *   loss = −(1/N) Σ_t log softmax(logits_t)[targets_t],   N = rows with a target,
 * and its gradient dlogits_t = (softmax(logits_t) − onehot(targets_t)) / N (zero rows without a target).
 * Float64 sums. logits [rows, nVocab].
 */
export function crossEntropy(logits: Float32Array, nVocab: number, targets: readonly number[]): { loss: number; dlogits: Float32Array; count: number } {
  const rows = targets.length;
  const dlogits = new Float32Array(rows * nVocab);
  const count = targets.filter((t) => t >= 0).length;
  if (count === 0) return { loss: 0, dlogits, count };
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const target = targets[r]!;
    if (target < 0) continue;
    const o = r * nVocab;
    let max = -Infinity;
    for (let i = 0; i < nVocab; i++) max = Math.max(max, logits[o + i]!);
    let sum = 0;
    for (let i = 0; i < nVocab; i++) sum += Math.exp(logits[o + i]! - max);
    const lse = max + Math.log(sum);
    loss -= logits[o + target]! - lse;
    for (let i = 0; i < nVocab; i++) dlogits[o + i] = Math.exp(logits[o + i]! - lse) / count;
    dlogits[o + target]! -= 1 / count;
  }
  return { loss: loss / count, dlogits, count };
}
