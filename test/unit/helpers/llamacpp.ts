/**
 * llama.cpp itself (node-llama-cpp, CPU) as ground truth: the next-token log-probabilities at every
 * prompt position of a GGUF file, one decode call, F32 KV cache, optionally with LoRA adapters.
 * node-llama-cpp 3.21 returns each position's probability distribution (softmax of the logits), not
 * the logits; log-probabilities carry the same information up to the row's log-sum-exp. Tokens it
 * leaves out of a distribution are −∞.
 */
export type Llama = Awaited<ReturnType<typeof import('node-llama-cpp').getLlama>>;

export async function openLlama(): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  return getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
}

export async function llamaCppLogprobs(
  llama: Llama,
  modelPath: string,
  tokens: readonly number[],
  nVocab: number,
  opts: { contextSize?: number; lora?: { path: string; scale: number } } = {},
): Promise<Float64Array> {
  const contextSize = opts.contextSize ?? 256;
  const model = await llama.loadModel({ modelPath });
  const ctx = await model.createContext({
    contextSize,
    batchSize: contextSize,
    flashAttention: false,
    threads: 2,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
    ...(opts.lora ? { lora: { adapters: [{ filePath: opts.lora.path, scale: opts.lora.scale }] } } : {}),
  });
  try {
    type Input = Parameters<ReturnType<typeof ctx.getSequence>['controlledEvaluate']>[0];
    // node-llama-cpp brands token ids; ours are plain numbers from the same vocabulary
    const out = await ctx.getSequence().controlledEvaluate(tokens.map((t) => [t, { generateNext: { probabilities: true } }]) as unknown as Input);
    const all = new Float64Array(tokens.length * nVocab).fill(-Infinity);
    out.forEach((o, i) => {
      for (const [tok, p] of o!.next.probabilities!) all[i * nVocab + tok] = Math.log(p);
    });
    return all;
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}
