/**
 * Which external data files an ONNX model needs: the `location` of every initializer stored outside
 * the graph (TensorProto.data_location = EXTERNAL), in the main graph and in subgraphs (If, Loop,
 * Scan bodies). Read from the graph itself, so a repository is fetched file by file without guessing
 * names. A location must be a plain relative path inside the model's folder: a hostile graph naming
 * `../../` or an absolute path or URL is refused.
 */
import onnxProto from 'onnx-proto';
import { CriaError } from '../../shared/errors.ts';

const { onnx } = onnxProto;

type Graph = onnxProto.onnx.IGraphProto;

export function externalDataLocations(model: Uint8Array, name = 'model.onnx'): string[] {
  return graphFacts(model, name).externalData;
}

/** What the runtime checks of a graph before a session: its external data files, and the bit widths of its MatMulNBits nodes. */
export interface GraphFacts {
  externalData: string[];
  /** `bits` of every com.microsoft MatMulNBits node (onnxruntime-web's WebGPU EP computes only 2 and 4) */
  matMulNBitsBits: number[];
}

export function graphFacts(model: Uint8Array, name = 'model.onnx'): GraphFacts {
  let proto: onnxProto.onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(model);
  } catch (e) {
    throw new CriaError('bad-file', `${name} is not a valid ONNX model (${(e as Error).message})`, { file: name });
  }
  const out = new Set<string>();
  const bits = new Set<number>();
  const visit = (g: Graph | null | undefined) => {
    if (!g) return;
    for (const t of g.initializer ?? []) {
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const loc = t.externalData?.find((e) => e.key === 'location')?.value;
      if (!loc) throw new CriaError('bad-file', `${name}: the initializer ${t.name} is stored externally but names no location`, { file: name });
      if (/^[a-z][a-z0-9+.-]*:/i.test(loc) || loc.startsWith('/') || loc.startsWith('\\') || loc.split(/[\\/]/).some((p) => p === '..' || p === '')) {
        throw new CriaError('bad-file', `${name}: the initializer ${t.name} names its data at "${loc}", outside the model's folder; Cria reads external data only from files next to the model`, { file: name, location: loc });
      }
      out.add(loc);
    }
    for (const n of g.node ?? []) {
      if (n.opType === 'MatMulNBits') {
        const b = n.attribute?.find((a) => a.name === 'bits')?.i;
        bits.add(b === undefined || b === null ? 4 : Number(b)); // (the op's default is 4)
      }
      for (const a of n.attribute ?? []) {
        visit(a.g);
        for (const sub of a.graphs ?? []) visit(sub);
      }
    }
  };
  visit(proto.graph);
  return { externalData: [...out].sort(), matMulNBitsBits: [...bits].sort((a, b) => a - b) };
}
