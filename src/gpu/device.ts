/**
 * Getting a WebGPU device, once, with capabilities checked up front.
 * - No `navigator.gpu` or no adapter → `webgpu-unavailable`, saying what to do.
 * - The device asks for the adapter's own maxima of the limits a model needs
 *   (default limits cap storage bindings at 128 MiB, smaller than many
 *   embedding tables); a model that still does not fit gets a `limits` error
 *   naming the limit (see `checkBinding`).
 * - `shader-f16` is requested only when the adapter has it; nothing requires it.
 * - Device loss is observed: `ctx.lost` resolves, `ctx.isLost` turns true, and
 *   every later use fails with `device-lost` until a new context is created.
 */
import { CriaError } from '../shared/errors.ts';

export interface DeviceInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
  /** shader-f16 is available and enabled on the device */
  f16: boolean;
  /** the `subgroups` feature is enabled, and the adapter's subgroup sizes (when it reports them) */
  subgroups: boolean;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** WGSL's packed_4x8_integer_dot_product language feature (dot4I8Packed, pack4xI8): the int8 matmul */
  int8Dot: boolean;
}

export interface GpuContext {
  readonly device: GPUDevice;
  /** limits Cria plans with: the device's, lowered by `CreateGpuOptions.limits` */
  readonly limits: Readonly<Record<string, number>>;
  readonly info: DeviceInfo;
  /** resolves when the device is lost (destroyed or by the browser/driver) */
  readonly lost: Promise<GPUDeviceLostInfo>;
  readonly isLost: boolean;
}

/** Limits a model needs at their adapter maxima. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups' as GPUFeatureName];

function readLimits(l: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key in l) {
    const v = (l as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}

export interface CreateGpuOptions {
  powerPreference?: GPUPowerPreference;
  /**
   * Ask for less than the adapter offers (e.g. `{ maxStorageBufferBindingSize: 128 << 20 }`), to see
   * how a model would fare on a smaller device, and in tests of the `limits` error.
   */
  limits?: Partial<Record<(typeof WANTED_LIMITS)[number], number>>;
}

export async function createGpu(opts: CreateGpuOptions = {}): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new CriaError(
      'webgpu-unavailable',
      'WebGPU is not available in this browser. Use a recent Chrome or Edge (version 113 or later) on a secure page (https or localhost); on Linux, Chrome needs WebGPU enabled at chrome://flags/#enable-unsafe-webgpu.',
    );
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new CriaError('webgpu-unavailable', `WebGPU could not find a GPU adapter (${(e as Error).message}). Update your browser and graphics driver, or check chrome://gpu.`);
  }
  if (!adapter) {
    throw new CriaError('webgpu-unavailable', 'WebGPU is present but found no usable GPU adapter (it may be blocklisted for your driver). Update your graphics driver, or check chrome://gpu for details.');
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const max = (adapter.limits as unknown as Record<string, number>)[k];
    requiredLimits[k] = opts.limits?.[k] !== undefined ? Math.min(max, opts.limits[k]!) : max;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter!.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new CriaError('webgpu-unavailable', `the GPU adapter refused to create a device: ${(e as Error).message}`);
  }
  const ai = adapter.info;
  const info: DeviceInfo = {
    vendor: ai?.vendor ?? '',
    architecture: ai?.architecture ?? '',
    device: ai?.device ?? '',
    description: ai?.description ?? '',
    isFallbackAdapter: (ai as GPUAdapterInfo & { isFallbackAdapter?: boolean })?.isFallbackAdapter ?? false,
    features: [...device.features].sort(),
    limits: readLimits(device.limits),
    f16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups' as GPUFeatureName),
    subgroupMinSize: (ai as GPUAdapterInfo & { subgroupMinSize?: number })?.subgroupMinSize,
    subgroupMaxSize: (ai as GPUAdapterInfo & { subgroupMaxSize?: number })?.subgroupMaxSize,
    int8Dot: hasWgslFeature('packed_4x8_integer_dot_product'),
  };
  const limits = readLimits(device.limits);
  for (const [k, v] of Object.entries(opts.limits ?? {})) if (v !== undefined) limits[k] = Math.min(limits[k] ?? v, v);
  info.limits = { ...limits };
  let isLost = false;
  const lost = device.lost.then((l) => {
    isLost = true;
    return l;
  });
  return {
    device,
    limits,
    info,
    lost,
    get isLost() {
      return isLost;
    },
  };
}

function hasWgslFeature(name: string): boolean {
  const features = (navigator.gpu as GPU & { wgslLanguageFeatures?: ReadonlySet<string> }).wgslLanguageFeatures;
  return !!features?.has(name);
}

const CPU_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|\bwarp\b|basic render|software/i;

/**
 * WebGPU implemented on the CPU: isFallbackAdapter, or a known software rasterizer by name.
 * Kernels pick their CPU-adapter plan by it (few invocations doing long sequential work, few
 * barriers), since what suits a GPU (many threads, coalesced loads) is slow there.
 */
export function isCpuAdapter(info: Pick<DeviceInfo, 'isFallbackAdapter' | 'vendor' | 'architecture' | 'device' | 'description'>): boolean {
  return info.isFallbackAdapter || CPU_ADAPTER.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** Throw `limits` unless one binding of `bytes` fits this device. */
export function checkBinding(ctx: GpuContext, bytes: number, what: string): void {
  const max = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  if (bytes > max) {
    throw new CriaError(
      'limits',
      `${what} needs a GPU buffer of ${(bytes / 2 ** 20).toFixed(1)} MiB, but this GPU allows at most ${(max / 2 ** 20).toFixed(1)} MiB per buffer (maxStorageBufferBindingSize/maxBufferSize); choose a smaller model or a more quantized file`,
      { limit: 'maxStorageBufferBindingSize', need: bytes, have: max },
    );
  }
}

export function assertAlive(ctx: GpuContext): void {
  if (ctx.isLost) throw new CriaError('device-lost', 'the GPU device was lost (driver reset, sleep, or too much memory); load the model again');
}
