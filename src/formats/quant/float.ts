/**
 * Plain float types (block size 1): F32 (4 bytes), F16 and BF16 (2 bytes), little-endian.
 * Values are moved as bit patterns (through a Uint32Array view of `out`), so
 * NaN payloads and -0 survive, and the source may sit at any byte offset.
 */
import { F16_TO_F32_BITS, f32BitsToBf16, f32BitsToF16 } from '../half.ts';

function bitsView(out: Float32Array, n: number): Uint32Array {
  return new Uint32Array(out.buffer, out.byteOffset, n);
}

export function dequant_f32(src: Uint8Array, out: Float32Array, n: number): void {
  new Uint8Array(out.buffer, out.byteOffset, n * 4).set(src.subarray(0, n * 4)); // Cria assumes a little-endian host, as WebGPU does
}

export function dequant_f16(src: Uint8Array, out: Float32Array, n: number): void {
  const o = bitsView(out, n);
  for (let i = 0; i < n; i++) o[i] = F16_TO_F32_BITS[src[2 * i] | (src[2 * i + 1] << 8)];
}

export function dequant_bf16(src: Uint8Array, out: Float32Array, n: number): void {
  const o = bitsView(out, n);
  for (let i = 0; i < n; i++) o[i] = (src[2 * i] << 16) | (src[2 * i + 1] << 24);
}

export function quant_f32(x: Float32Array, dst: Uint8Array, n: number): void {
  dst.set(new Uint8Array(x.buffer, x.byteOffset, n * 4));
}

export function quant_f16(x: Float32Array, dst: Uint8Array, n: number): void {
  const bits = new Uint32Array(x.buffer, x.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const h = f32BitsToF16(bits[i]);
    dst[2 * i] = h & 0xff;
    dst[2 * i + 1] = h >>> 8;
  }
}

export function quant_bf16(x: Float32Array, dst: Uint8Array, n: number): void {
  const bits = new Uint32Array(x.buffer, x.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const h = f32BitsToBf16(bits[i]);
    dst[2 * i] = h & 0xff;
    dst[2 * i + 1] = h >>> 8;
  }
}
