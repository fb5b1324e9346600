/** The incremental SHA-256 (src/storage/sha256.ts: @noble/hashes behind a small class) against node:crypto: every padding edge, any split of the input. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256, sha256Hex } from '../../src/storage/sha256.ts';

const ref = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('Sha256', () => {
  it('the FIPS 180-4 examples', () => {
    expect(new Sha256().hex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(new Sha256().update(new TextEncoder().encode('abc')).hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const two = new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    expect(new Sha256().update(two).hex()).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('every length around the block and padding edges, whole or split anywhere', () => {
    const data = new Uint8Array(randomBytes(300));
    for (let n = 0; n <= 200; n++) {
      const whole = data.subarray(0, n);
      expect(new Sha256().update(whole).hex(), `length ${n}`).toBe(ref(whole));
      const cut = (n * 37) % (n + 1);
      expect(new Sha256().update(whole.subarray(0, cut)).update(whole.subarray(cut)).hex(), `length ${n} cut at ${cut}`).toBe(ref(whole));
    }
  });

  it('a few MB in uneven pieces, as chunks arrive; the same as WebCrypto', async () => {
    const data = new Uint8Array(randomBytes(3_000_017));
    const h = new Sha256();
    for (let i = 0, step = 1; i < data.length; i += step, step = (step * 7 + 13) % 500_000) h.update(data.subarray(i, i + step));
    expect(h.length).toBe(data.length);
    const want = ref(data);
    expect(h.hex()).toBe(want);
    expect(await sha256Hex(data)).toBe(want);
  });

  it('refuses to go on after the digest', () => {
    const h = new Sha256();
    h.hex();
    expect(() => h.update(new Uint8Array(1))).toThrow(/after digest/);
  });
});
