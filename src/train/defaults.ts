/** A LoRA fine-tune's settings and their defaults (a module of its own: the app's pages read them without the trainer). */
/** The optimizer's settings, for every training run (a LoRA fine-tune adds its rank, alpha and matrices). */
export interface OptimConfig {
  /** peak learning rate */
  lr: number;
  /** warm-up steps (linear), then cosine decay to lr / 10 */
  warmup: number;
  /** examples per optimizer step (gradients accumulated) */
  batchSize: number;
  maxGradNorm: number;
  weightDecay: number;
  seed: number;
}

export interface LoraConfig extends OptimConfig {
  rank: number;
  alpha: number;
  /** the matrices adapted in every layer (GGUF names without blk.N. and .weight) */
  matrices: readonly string[];
}

/** Alpaca-LoRA's recipe, scaled to small models: rank 8, alpha 16, every attention and feed-forward matrix, lr 3e-4 (here 1e-3: tiny models, few steps). */
export const LORA_DEFAULTS: LoraConfig = {
  rank: 8,
  alpha: 16,
  matrices: ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'],
  lr: 1e-3,
  warmup: 10,
  batchSize: 8,
  maxGradNorm: 1,
  weightDecay: 0,
  seed: 0,
};

