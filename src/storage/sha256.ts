/**
 * SHA-256 for the model cache: WebCrypto for bytes held at once (a chunk), and an incremental
 * hasher for a whole model file chunk by chunk as it downloads (WebCrypto's digest() needs all
 * the bytes at once, and a model can be several GB). The incremental one is @noble/hashes
 * (audited, no dependencies, pure JS: no WebAssembly, which the app's CSP does not allow).
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of bytes as lowercase hex, with WebCrypto (browsers, workers, Node ≥ 20). */
export async function sha256Hex(data: BufferSource): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Incremental SHA-256: update() with the file's bytes in order, then hex() once. */
export class Sha256 {
  private readonly h = sha256.create();
  /** bytes hashed so far */
  length = 0;

  private done = false;

  update(data: Uint8Array): this {
    if (this.done) throw new Error('Sha256: update after digest');
    this.h.update(data);
    this.length += data.length;
    return this;
  }

  /** the digest as lowercase hex; the hasher is finished after this */
  hex(): string {
    this.done = true;
    return hex(this.h.digest());
  }
}
