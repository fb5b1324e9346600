/**
 * A llama-family decoder's dimensions, as the code that writes or converts weights describes a shape
 * (synthetic models in src/model/synthetic.ts, the MLC export in src/formats/mlc/params.ts).
 */
export interface DecoderDims {
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  /** per-head dimension of q, k and v */
  readonly headDim: number;
  readonly nFf: number;
  readonly nVocab: number;
  /** no `output.weight`: the output projection is the token embedding */
  readonly tied: boolean;
}
