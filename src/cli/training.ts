/** What `cria finetune` and `cria train` share: checkpoints in a file, Ctrl-C that keeps what was trained, progress lines. */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import type { FinetuneCheckpoint, FinetuneProgress } from '../train/run.ts';

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

/** Ctrl-C stops training after the current step (the command still writes what was trained); a second one quits. Call `done()` after. */
export function stopOnCtrlC(what: string, log: (s: string) => void): { signal: AbortSignal; done(): void } {
  const ctrl = new AbortController();
  const onSigint = () => {
    log(`${what}: stopping after this step (Ctrl-C again to quit without writing)`);
    process.off('SIGINT', onSigint);
    ctrl.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: ctrl.signal, done: () => process.off('SIGINT', onSigint) };
}

/** seconds as m:ss */
export function clock(s: number): string {
  const r = Math.round(s);
  return `${Math.floor(r / 60)}:${String(r % 60).padStart(2, '0')}`;
}

/** the progress line of a training step, and the held-out line at an epoch's end */
export function logStep(p: FinetuneProgress, log: (s: string) => void): void {
  log(`step ${p.step}/${p.steps}  epoch ${p.epoch}/${p.epochs}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  ${p.tokensPerSecond.toFixed(0)} tok/s  ETA ${clock(p.etaSeconds)}`);
  if (p.heldOutLoss !== undefined) log(`epoch ${p.epoch}/${p.epochs}: held-out loss ${p.heldOutLoss.toFixed(4)} (perplexity ${Math.exp(p.heldOutLoss).toFixed(2)})`);
}

