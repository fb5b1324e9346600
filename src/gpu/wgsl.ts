/**
 * WGSL source handling, so that TypeScript never restates what a shader
 * says:
 * - `structLayout(source, 'Params')` derives byte offsets of a uniform struct
 *   from the WGSL text itself (the one source of truth for uniform layouts);
 *   `encodeStruct` fills it by field name and refuses unknown or missing ones.
 * - `assemble(source, libs, vars)` prepends library files (kernels/lib/*.wgsl,
 *   e.g. one dequantizer per quant type) and substitutes the few `{{NAME}}`
 *   placeholders that `override` cannot express; unknown or leftover
 *   placeholders throw.
 */
import { CriaError } from '../shared/errors.ts';

type Scalar = 'f32' | 'u32' | 'i32';
export interface StructField {
  name: string;
  type: Scalar;
  /** components: 1 (scalar), 2, 3 or 4 (vecN) */
  n: number;
  offset: number;
}
export interface StructLayout {
  name: string;
  fields: StructField[];
  /** size in bytes, rounded up to 16 (uniform buffer granularity) */
  size: number;
}

const stripComments = (s: string) => s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');

export function structLayout(source: string, structName: string): StructLayout | undefined {
  const m = new RegExp(`struct\\s+${structName}\\s*\\{([^}]*)\\}`).exec(stripComments(source));
  if (!m) return undefined;
  const fields: StructField[] = [];
  let offset = 0;
  let maxAlign = 4;
  for (const part of m[1].split(',')) {
    const f = /^\s*(\w+)\s*:\s*([\w<>]+)\s*$/.exec(part);
    if (!f) {
      if (part.trim()) throw new CriaError('internal', `cannot parse field "${part.trim()}" of struct ${structName}`);
      continue;
    }
    const [, name, type] = f;
    const vm = /^vec([234])<(f32|u32|i32)>$/.exec(type) ?? /^vec([234])([fui])$/.exec(type);
    let scalar: Scalar;
    let n = 1;
    if (vm) {
      n = Number(vm[1]);
      scalar = (vm[2].length === 1 ? `${vm[2]}32` : vm[2]) as Scalar;
    } else if (type === 'f32' || type === 'u32' || type === 'i32') {
      scalar = type;
    } else {
      throw new CriaError('internal', `struct ${structName}.${name}: type ${type} is not supported in uniform structs (use 32-bit scalars and vectors)`);
    }
    const align = n === 1 ? 4 : n === 2 ? 8 : 16;
    const size = n * 4;
    offset = Math.ceil(offset / align) * align;
    fields.push({ name, type: scalar, n, offset });
    offset += size;
    maxAlign = Math.max(maxAlign, align);
  }
  const size = Math.ceil(Math.ceil(offset / maxAlign) * maxAlign / 16) * 16;
  return { name: structName, fields, size };
}

/** Encode values by field name into `out` at byte offset `at` (default: a new buffer). */
export function encodeStruct(layout: StructLayout, values: Record<string, number | readonly number[]>, out?: DataView, at = 0): ArrayBuffer {
  const view = out ?? new DataView(new ArrayBuffer(layout.size));
  for (const key of Object.keys(values)) {
    if (!layout.fields.some((f) => f.name === key)) throw new CriaError('internal', `struct ${layout.name} has no field "${key}"`);
  }
  for (const f of layout.fields) {
    const v = values[f.name];
    if (v === undefined) {
      if (f.name.startsWith('_')) continue; // padding
      throw new CriaError('internal', `struct ${layout.name}: missing value for "${f.name}"`);
    }
    const comps = typeof v === 'number' ? [v] : v;
    if (comps.length !== f.n) throw new CriaError('internal', `struct ${layout.name}.${f.name} has ${f.n} components, got ${comps.length}`);
    comps.forEach((c, i) => {
      const o = at + f.offset + 4 * i;
      if (f.type === 'f32') view.setFloat32(o, c, true);
      else if (f.type === 'u32') {
        if (!(Number.isInteger(c) && c >= 0 && c <= 0xffffffff)) throw new CriaError('internal', `struct ${layout.name}.${f.name}: ${c} is not a u32`);
        view.setUint32(o, c, true);
      } else {
        if (!(Number.isInteger(c) && c >= -(2 ** 31) && c < 2 ** 31)) throw new CriaError('internal', `struct ${layout.name}.${f.name}: ${c} is not an i32`);
        view.setInt32(o, c, true);
      }
    });
  }
  return view.buffer as ArrayBuffer;
}

/** Prepend libraries and substitute `{{NAME}}` placeholders. */
export function assemble(source: string, libs: readonly string[] = [], vars: Record<string, string> = {}): string {
  const used = new Set<string>();
  // directives (`enable subgroups;`) must precede every declaration: hoist them above the libraries
  const directives: string[] = [];
  const body = [...libs, source].map((part) => part.replace(/^\s*(?:(?:enable|requires)\s[^;]*|diagnostic\s*\([^)]*\)\s*);[ \t]*$/gm, (d) => (directives.push(d.trim()), '')));
  const text = [...new Set(directives), ...body].join('\n');
  const out = text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in vars)) throw new CriaError('internal', `WGSL placeholder {{${name}}} has no value`);
    used.add(name);
    return vars[name];
  });
  for (const k of Object.keys(vars)) if (!used.has(k)) throw new CriaError('internal', `WGSL placeholder value ${k} is not used by the shader`);
  return out;
}
