/** ByteSource over a local file in Node (CLI, tests). Never bundled for the browser. */
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { CriaError } from '../shared/errors.ts';
import type { ByteSource } from './source.ts';

/** What a path that is not a regular file is, for messages: "a directory", "a FIFO (named pipe)", … */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** The error for a model path that is not a regular file (a model is read at random offsets). */
export function notAFileError(path: string, st: Stats): CriaError {
  return new CriaError(
    'bad-argument',
    `${path} is ${fileKind(st)}, not a regular file: a model is read at random offsets, so give the path of a .gguf file on disk (save a stream to a file first)`,
    { path, kind: fileKind(st) },
  );
}

export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  let fh;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever; on a regular
    // file it changes nothing. What the path is gets checked on the open handle (no race with a rename).
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new CriaError('bad-argument', `cannot open ${path}: ${(e as Error).message}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw notAFileError(path, st);
  }
  const { size } = st;
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
