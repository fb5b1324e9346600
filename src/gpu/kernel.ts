/**
 * Kernels and their compiled pipelines.
 * A kernel is one file in kernels/ (entry point `main`); `defineKernel` reads
 * its uniform struct `Params` from the source. A *variant* adds library files
 * (e.g. the dequantizer of one quant type), placeholder values and `override`
 * constants; its key names everything that went into the pipeline, and
 * pipelines are cached per device (a WeakMap, so a lost device takes its cache
 * with it) and created with createComputePipelineAsync. Compilation errors
 * are reported with the variant key.
 */
import { CriaError } from '../shared/errors.ts';
import { assemble, structLayout, type StructLayout } from './wgsl.ts';

export interface KernelDef {
  /** the file name in kernels/ without .wgsl */
  readonly name: string;
  readonly source: string;
  /** layout of `struct Params` (binding 0) when the kernel has one */
  readonly params?: StructLayout;
}

export function defineKernel(name: string, source: string): KernelDef {
  return { name, source, params: structLayout(source, 'Params') };
}

export interface WgslLib {
  readonly name: string;
  readonly source: string;
}

export interface Variant {
  libs?: readonly WgslLib[];
  vars?: Readonly<Record<string, string>>;
  overrides?: Readonly<Record<string, number>>;
}

export function variantKey(k: KernelDef, v: Variant = {}): string {
  const parts = [k.name];
  if (v.libs?.length) parts.push(v.libs.map((l) => l.name).join('+'));
  if (v.vars && Object.keys(v.vars).length) parts.push(Object.entries(v.vars).sort().map(([a, b]) => `${a}=${b}`).join(','));
  if (v.overrides && Object.keys(v.overrides).length) parts.push(Object.entries(v.overrides).sort().map(([a, b]) => `${a}=${b}`).join(','));
  return parts.join('|');
}

export class PipelineCache {
  private static readonly perDevice = new WeakMap<GPUDevice, PipelineCache>();
  static for(device: GPUDevice): PipelineCache {
    let c = PipelineCache.perDevice.get(device);
    if (!c) PipelineCache.perDevice.set(device, (c = new PipelineCache(device)));
    return c;
  }

  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private readonly ready = new Map<string, GPUComputePipeline>();
  private constructor(private readonly device: GPUDevice) {}

  /** The pipeline if it was compiled already (no await on the hot path). */
  peek(key: string): GPUComputePipeline | undefined {
    return this.ready.get(key);
  }

  get size(): number {
    return this.pipelines.size;
  }

  get(kernel: KernelDef, variant: Variant = {}): Promise<GPUComputePipeline> {
    const key = variantKey(kernel, variant);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.create(kernel, variant, key);
      p.catch(() => this.pipelines.delete(key));
      this.pipelines.set(key, p);
    }
    return p;
  }

  private async create(kernel: KernelDef, variant: Variant, key: string): Promise<GPUComputePipeline> {
    const lim = this.device.limits;
    for (const [name, v] of Object.entries(variant.overrides ?? {})) {
      if (/^WG/.test(name) && v > lim.maxComputeInvocationsPerWorkgroup) {
        throw new CriaError('limits', `kernel ${key}: workgroup size ${name}=${v} exceeds this GPU's maxComputeInvocationsPerWorkgroup (${lim.maxComputeInvocationsPerWorkgroup})`);
      }
    }
    const code = assemble(kernel.source, (variant.libs ?? []).map((l) => l.source), variant.vars);
    const module = this.device.createShaderModule({ label: key, code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      const lines = code.split('\n');
      const text = errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}\n    > ${lines[m.lineNum - 1] ?? ''}`).join('\n');
      throw new CriaError('internal', `WGSL compilation failed for ${key}:\n${text}`);
    }
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants: { ...variant.overrides } },
      });
      this.ready.set(key, pipeline);
      return pipeline;
    } catch (e) {
      throw new CriaError('internal', `pipeline creation failed for ${key}: ${(e as Error).message}`);
    }
  }
}
