/** Training checkpoints in a file (`cria finetune --checkpoint`, `cria train --checkpoint`). */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import type { FinetuneCheckpoint } from '../train/run.ts';

/** --checkpoint FILE: the job's state in a file (v8's structured serialization), written atomically, for this job only */
export async function fileCheckpoints(path: string, key: string, log: (s: string) => void) {
  return {
    load: async () => {
      let raw: Buffer;
      try {
        raw = await readFile(path);
      } catch {
        return undefined;
      }
      try {
        const v = deserialize(raw) as { key: string; checkpoint: FinetuneCheckpoint };
        if (v.key === key) return v.checkpoint;
        log(`${path} is the checkpoint of another job (model, examples or settings differ): starting from the beginning, it will be replaced`);
      } catch {
        log(`${path} is not a checkpoint Cria can read: starting from the beginning, it will be replaced`);
      }
      return undefined;
    },
    save: async (checkpoint: FinetuneCheckpoint) => {
      await writeFile(`${path}.tmp`, serialize({ key, checkpoint }));
      await rename(`${path}.tmp`, path);
    },
    clear: () => rm(path, { force: true }),
  };
}
