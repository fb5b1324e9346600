/**
 * MD5 (RFC 1321) of a byte array, as lowercase hex: the `md5sum` tvmjs's dump_ndarray_cache writes for
 * each params_shard_N.bin (an integrity check of the shard, not a security measure). Pure TypeScript so
 * the MLC exporter runs in the browser as well as in Node; test/unit/mlc-export.test.ts checks it
 * against node:crypto.
 */

/** per-round left-rotation amounts */
const S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
/** K[i] = floor(2^32 · |sin(i + 1)|) */
const K = Uint32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

export function md5Hex(bytes: Uint8Array): string {
  const n = bytes.byteLength;
  // the message, a 1 bit, zeros, and the bit length (64-bit little-endian), to a multiple of 64 bytes
  const tailStart = n - (n % 64);
  const tailLen = (n % 64) + 1 + 8 <= 64 ? 64 : 128;
  const tail = new Uint8Array(tailLen);
  tail.set(bytes.subarray(tailStart));
  tail[n % 64] = 0x80;
  const tv = new DataView(tail.buffer);
  tv.setUint32(tailLen - 8, (n * 8) >>> 0, true);
  tv.setUint32(tailLen - 4, Math.floor(n / 2 ** 29) >>> 0, true);

  let a0 = 0x67452301;
  let b0 = 0xefcdab89;
  let c0 = 0x98badcfe;
  let d0 = 0x10325476;
  const m = new Uint32Array(16);
  const block = (src: Uint8Array, o: number) => {
    for (let j = 0; j < 16; j++) m[j] = src[o + 4 * j] | (src[o + 4 * j + 1] << 8) | (src[o + 4 * j + 2] << 16) | (src[o + 4 * j + 3] << 24);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const x = (f + a + K[i] + m[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((x << S[i]) | (x >>> (32 - S[i])))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  };
  for (let o = 0; o < tailStart; o += 64) block(bytes, o);
  for (let o = 0; o < tailLen; o += 64) block(tail, o);

  let hex = '';
  for (const w of [a0, b0, c0, d0]) for (let k = 0; k < 4; k++) hex += ((w >>> (8 * k)) & 0xff).toString(16).padStart(2, '0');
  return hex;
}
