/**
 * Which products take int8 activations on a device (GpuBackendOptions.activations), decided once per
 * backend: a pure function of the device's description, so it is tested without a GPU.
 */
import { CriaError } from '../shared/errors.ts';
import { isCpuAdapter, type DeviceInfo } from './device.ts';

/** `GpuBackendOptions.activations` resolved for a device. */
export function resolveActivations(want: 'auto' | 'f32' | 'int8' | undefined, info: Pick<DeviceInfo, 'isFallbackAdapter' | 'vendor' | 'architecture' | 'device' | 'description' | 'int8Dot'>): 'f32' | 'int8' {
  if (want === 'int8' && !info.int8Dot) {
    throw new CriaError('bad-argument', "int8 activations need WGSL's packed_4x8_integer_dot_product language feature, which this browser does not offer; use activations 'f32' or 'auto'");
  }
  if (want === 'int8' || want === 'f32') return want;
  return isCpuAdapter(info) && info.int8Dot ? 'int8' : 'f32';
}
