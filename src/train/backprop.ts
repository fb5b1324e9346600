/**
 * The reverse walk both training tapes share (src/train/tape.ts on the CPU, gpu-tape.ts on WebGPU):
 * from the loss's gradient w.r.t. the forward's result, each recorded op (last first) hands its
 * output's gradient to its inputs' (summed where an activation feeds several ops) and, for the weights
 * being trained, computes theirs. `G` is a gradient (a CPU array or a GPU tensor), `add` a new sum
 * (never in place: an op may hand the same gradient to two inputs).
 */
import { CriaError } from '../shared/errors.ts';

export interface TapeNode<A, W, G> {
  out: A;
  back(dy: G, grad: (a: A, g: G) => void, wgrad: (w: W, g: () => G) => void): void;
}

export function backprop<A, W, G>(tape: readonly TapeNode<A, W, G>[], result: A, dresult: G, trainable: ReadonlySet<W>, add: (a: G, b: G) => G): Map<W, G> {
  if (tape[tape.length - 1]?.out !== result) throw new CriaError('internal', "backward: these logits are not the last forward's result");
  const grads = new Map<A, G>([[result, dresult]]);
  const wgrads = new Map<W, G>();
  const addTo = <K>(m: Map<K, G>, k: K, g: G) => {
    const have = m.get(k);
    m.set(k, have === undefined ? g : add(have, g));
  };
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    const dy = grads.get(node.out);
    if (dy === undefined) continue; // nothing downstream depends on it
    grads.delete(node.out);
    node.back(
      dy,
      (a, g) => addTo(grads, a, g),
      (w, g) => {
        if (trainable.has(w)) addTo(wgrads, w, g());
      },
    );
  }
  return wgrads;
}
