/**
 * Reading files out of a .zip (some public data sets ship only as zips: wikitext-2 for
 * llama.cpp's perplexity, ARC). Only what those need: the central directory, "stored" and
 * "deflate" entries (DecompressionStream("deflate-raw"), in browsers and Node ≥ 20), no
 * encryption, no ZIP64, no multi-disk archives.
 */
import { CriaError } from '../../shared/errors.ts';

export interface ZipEntry {
  name: string;
  size: number;
  read(): Promise<Uint8Array>;
}

const bad = (what: string) => new CriaError('bad-file', `not a zip file this reader understands: ${what}`);

async function inflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function readZip(bytes: Uint8Array): ZipEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // end of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record');
  const count = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  if (p === 0xffffffff) throw bad('ZIP64 archives are not supported');
  const names = new TextDecoder();
  const entries: ZipEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== 0x02014b50) throw bad('a central directory entry is damaged');
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const csize = dv.getUint32(p + 20, true);
    const size = dv.getUint32(p + 24, true);
    const nlen = dv.getUint16(p + 28, true);
    const xlen = dv.getUint16(p + 30, true);
    const clen = dv.getUint16(p + 32, true);
    const local = dv.getUint32(p + 42, true);
    const name = names.decode(bytes.subarray(p + 46, p + 46 + nlen));
    p += 46 + nlen + xlen + clen;
    if (name.endsWith('/')) continue;
    entries.push({
      name,
      size,
      async read() {
        if (flags & 1) throw bad(`${name} is encrypted`);
        if (dv.getUint32(local, true) !== 0x04034b50) throw bad(`the local header of ${name} is damaged`);
        const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
        const data = bytes.subarray(start, start + csize);
        if (method === 0) return data;
        if (method === 8) return inflateRaw(data);
        throw bad(`${name} uses compression method ${method} (only stored and deflate are supported)`);
      },
    });
  }
  return entries;
}

/** The text of the entry whose path ends with `suffix` (e.g. "wiki.test.raw"). */
export async function readZipText(bytes: Uint8Array, suffix: string): Promise<string> {
  const e = readZip(bytes).find((x) => x.name === suffix || x.name.endsWith('/' + suffix));
  if (!e) throw new CriaError('bad-file', `the zip has no file ${suffix}`);
  return new TextDecoder().decode(await e.read());
}
