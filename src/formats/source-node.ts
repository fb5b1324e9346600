/** ByteSource over a local file in Node (CLI, tests). Never bundled for the browser. */
import { open } from 'node:fs/promises';
import { CriaError } from '../shared/errors.ts';
import type { ByteSource } from './source.ts';

export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new CriaError('bad-argument', `cannot open ${path}: ${(e as Error).message}`);
  }
  const { size } = await fh.stat();
  return {
    name: path,
    size,
    async read(offset, length) {
      if (offset + length > size) {
        throw new CriaError('bad-file', `${path} is truncated: needed bytes ${offset}..${offset + length} but the file has ${size} bytes`);
      }
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new CriaError('bad-file', `${path}: unexpected end of file at ${offset + done}`);
        done += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
}
