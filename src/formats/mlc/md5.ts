/**
 * MD5 of a byte array, as lowercase hex: the `md5sum` tvmjs's dump_ndarray_cache writes for each
 * params_shard_N.bin (an integrity check of the shard, not a security measure). From @noble/hashes
 * (already Cria's SHA-256 for downloads; pure JS, so the exporter runs in the browser as in Node);
 * test/unit/mlc-export.test.ts checks it against node:crypto.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export function md5Hex(bytes: Uint8Array): string {
  return bytesToHex(md5(bytes));
}
