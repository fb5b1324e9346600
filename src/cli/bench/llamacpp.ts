/**
 * Native llama.cpp through node-llama-cpp (a devDependency), in this Node
 * process, on the CPU (`gpu: false`), `threads` threads: the CPU ceiling of
 * the machine. Same file, the prompts' token ids (its own tokenization of the
 * text is compared), greedy; `sequence.evaluate` never
 * stops at an end-of-generation token by itself, so N tokens are N tokens.
 * Timed here with the wall clock around the generator.
 */
import { CriaError } from '../../shared/errors.ts';
import type { EngineRaw, RawRun } from './figures.ts';
import type { BenchPlan } from './plan.ts';
import type { BenchPrompt } from './prompt.ts';
import { packageVersion } from './versions.ts';

type NodeLlamaCpp = typeof import('node-llama-cpp');

async function loadBindings(): Promise<{ lib: NodeLlamaCpp; version: string }> {
  const version = packageVersion('node-llama-cpp');
  try {
    if (!version) throw new Error('the package is not installed');
    return { lib: await import('node-llama-cpp'), version };
  } catch (e) {
    throw new CriaError('bad-argument', `node-llama-cpp could not be loaded (it is a devDependency of Cria: run \`npm install\`), or leave llamacpp out of --peers: ${(e as Error).message.split('\n')[0]}`);
  }
}

export async function benchLlamaCpp(modelPath: string, plan: BenchPlan, threads: number, nCtx: number, log: (s: string) => void): Promise<EngineRaw> {
  const { lib, version } = await loadBindings();
  const llama = await lib.getLlama({ gpu: false, logLevel: lib.LlamaLogLevel.error });
  const batchSize = Math.max(...plan.promptLengths, plan.warmup.prompt.ids.length);
  const open = async () => {
    const t0 = performance.now();
    const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
    const context = await model.createContext({ contextSize: nCtx, batchSize, threads, flashAttention: false });
    return { model, context, ms: performance.now() - t0 };
  };
  try {
    // the first load in this process is "cold", the next ones "warm"
    const loads = { coldMs: [] as number[], warmMs: [] as number[] };
    let m = await open();
    loads.coldMs.push(m.ms);
    for (let r = 0; r < plan.loadRuns; r++) {
      await m.context.dispose();
      await m.model.dispose();
      m = await open();
      loads.warmMs.push(m.ms);
    }
    log(`llama.cpp: loads: cold ${loads.coldMs[0].toFixed(0)} ms, warm ${loads.warmMs.map((x) => x.toFixed(0)).join(', ')} ms`);
    const seq = m.context.getSequence();
    const notes = ['load: from the file (mmap); cold is the first load in the process, the file is in the OS page cache either way'];
    let mismatch = false;
    const generate = async (prompt: BenchPrompt, n: number) => {
      // the same tokens as the others; llama.cpp's own tokenization of the text is checked (not timed)
      const own = [...(m.model.tokens.bos != null && m.model.tokens.shouldPrependBosToken ? [m.model.tokens.bos] : []), ...m.model.tokenize(prompt.text)];
      if (!mismatch && own.join() !== prompt.ids.join()) {
        mismatch = true;
        notes.push(`its tokenization of a prompt differs from Cria's (${own.length} vs ${prompt.ids.length} tokens); it was given Cria's tokens`);
      }
      await seq.clearHistory();
      const t0 = performance.now();
      let t1 = t0;
      let count = 0;
      for await (const _ of seq.evaluate(prompt.ids as never, { temperature: 0 })) {
        if (count++ === 0) t1 = performance.now();
        if (count >= n) break;
      }
      const t2 = performance.now();
      if (count !== n) throw new CriaError('internal', `llama.cpp generated ${count} tokens, not ${n}`);
      return { firstMs: t1 - t0, decodeMs: t2 - t1 };
    };
    await generate(plan.warmup.prompt, plan.warmup.maxTokens);
    const runs: RawRun[] = [];
    for (let r = 0; r < plan.runs; r++) {
      const p = plan.prompts[r];
      const prefill = [];
      for (const prompt of p.prefill) {
        const g = await generate(prompt, 1);
        prefill.push({ tokens: prompt.ids.length, ms: g.firstMs });
        log(`llama.cpp: run ${r + 1}/${plan.runs}: first token after ${prompt.ids.length} prompt tokens in ${g.firstMs.toFixed(0)} ms`);
      }
      const d = await generate(p.decode, plan.decode);
      runs.push({ prefill, decode: { tokens: plan.decode, steps: plan.decode - 1, ms: d.decodeMs } });
      log(`llama.cpp: run ${r + 1}/${plan.runs}: ${plan.decode} tokens decoded, ${((1000 * (plan.decode - 1)) / d.decodeMs).toFixed(2)} tok/s`);
    }
    await m.context.dispose();
    await m.model.dispose();
    const release = llama.llamaCppRelease.release;
    return { version: `node-llama-cpp ${version} (llama.cpp ${release})`, threads, loads, runs, notes };
  } finally {
    await llama.dispose();
  }
}
