/**
 * `cria finetune` and `--lora` end to end, as real processes (node bin/cria.js): a LoRA fine-tune of
 * stories260K on a small Alpaca-format task (which colour each animal is, in 10 contexts) through a
 * chat template given on the command line, whose held-out loss must fall; the adapter it writes is a
 * llama.cpp LoRA file for that model; `cria generate --lora` then answers with it on every engine
 * (the CPU reference, WebAssembly, WebGPU in Chromium), the same greedy tokens on each (an F32 model:
 * the engines agree to ~1e-5 in logits), and differently from the base model. Bad data is refused
 * naming its line, before any model is read.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readGguf } from '../../src/formats/gguf.ts';
import { readLoraAdapter } from '../../src/formats/lora.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { fixtureGguf } from './helpers/models.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cria-finetune-'));
const STORIES = fixturePath('models/stories260K/stories260K-f32.gguf');
const TEMPLATE = "{% for m in messages %}{% if m['role'] == 'user' %}Q: {{ m['content'] }}\n{% else %}A: {{ m['content'] }}{{ eos_token }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}A:{% endif %}";

function cria(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const ANIMALS = ['cat', 'dog', 'bird', 'fish', 'frog', 'duck', 'bear', 'cow', 'pig', 'fox'];
const COLORS = ['red', 'blue', 'green', 'pink', 'brown', 'black', 'white', 'gray', 'gold', 'purple'];
const CONTEXTS = ['Tom went to the park.', 'The sun was hot.', 'Lily had a big box.', 'It was a rainy day.', 'Ben liked to play.', 'The girl saw a tree.', 'Mom made a cake.', 'They went to the sea.', 'The boy was happy.', 'Sue found a ball.'];

describe('cria finetune, then cria generate --lora', () => {
  it('trains (the held-out loss falls), writes an adapter for the model, and every engine answers with it alike', async () => {
    const data = join(tmp, 'animals.jsonl');
    writeFileSync(data, CONTEXTS.flatMap((c) => ANIMALS.map((a, i) => JSON.stringify({ instruction: `What color is the ${a}?`, input: c, output: `It is ${COLORS[i]}.` }))).join('\n') + '\n');
    const template = join(tmp, 'qa.jinja');
    writeFileSync(template, TEMPLATE);
    const out = join(tmp, 'animals.lora.gguf');
    const mergedPath = join(tmp, 'animals.merged.gguf');
    const r = await cria(['finetune', '--model', STORIES, '--data', data, '--out', out, '--chat-template', template, '--epochs', '2', '--lr', '3e-3', '--rank', '4', '--seed', '1', '--merged', mergedPath]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ out, examples: { train: 90, held_out: 10, truncated: 0 }, epochs: 2, stopped_early: false, rank: 4, alpha: 16 });
    expect(report.steps).toBe(2 * Math.ceil(90 / 8));
    const [before, , after] = report.held_out_loss as number[];
    expect(after).toBeLessThan(before! / 2);
    expect(r.stderr).toMatch(/finetune: 100 examples \(Alpaca; the chat template given\): 90 to train on, 10 held out/);
    expect(r.stderr).toMatch(/step 1\/24 {2}epoch 1\/2 {2}loss [\d.]+ {2}lr [\d.e+-]+ {2}\d+ tok\/s {2}ETA \d+:\d\d/);
    expect(r.stderr).toMatch(/epoch 2\/2: held-out loss [\d.]+/);
    console.log(`cria finetune: held-out loss ${report.held_out_loss.map((v: number) => v.toFixed(3)).join(' → ')}, ${report.steps} steps in ${report.seconds.toFixed(1)} s (${report.tokens_per_s.toFixed(0)} tok/s)`);

    // a llama.cpp LoRA file for stories260K
    const adapter = readLoraAdapter(await readGguf(bytesSource(new Uint8Array(readFileSync(out)))), { arch: 'llama', tensors: (await fixtureGguf('models/stories260K/stories260K-f32.gguf')).tensorsByName });
    expect(adapter.alpha).toBe(16);
    expect([...adapter.pairs.values()].every((p) => p.rank === 4)).toBe(true);
    expect(adapter.pairs.size).toBe(7 * 5); // 7 matrices × 5 layers

    // with --lora on every engine: the same greedy tokens, unlike the base model's
    const prompt = 'Q: What color is the cow?\n\nSam ate an apple.\nA:';
    const gen = async (engine: string, lora: boolean, model = STORIES) => {
      const g = await cria(['generate', '--model', model, '--engine', engine, '--prompt', prompt, '--max-tokens', '6', '--json', ...(lora ? ['--lora', `${out}:1`] : [])]);
      expect(g.code, `${engine}: ${g.stderr}`).toBe(0);
      if (lora) expect(g.stderr).toMatch(/cria: adapter .*animals\.lora\.gguf: 35 matrices, rank 4, alpha 16, scale 1/);
      return JSON.parse(g.stdout) as { tokens: number[]; text: string };
    };
    const base = await gen('reference', false);
    const tuned = await gen('reference', true);
    expect(tuned.tokens).not.toEqual(base.tokens);
    expect(tuned.text).toMatch(/^ It is/);
    for (const engine of ['cpu', 'webgpu']) expect((await gen(engine, true)).tokens, engine).toEqual(tuned.tokens);
    // --merged: the model with the adapter in its weights answers the same (an F32 model: merged exactly)
    expect(r.stderr).toContain(`finetune: wrote ${mergedPath} (the model with the adapter merged into its weights)`);
    expect((await gen('reference', false, mergedPath)).tokens).toEqual(tuned.tokens);
    console.log(`cria generate: base ${JSON.stringify(base.text)}, with --lora ${JSON.stringify(tuned.text)} (reference, cpu and webgpu alike)`);
  }, 600_000);

  it('refuses bad data naming its line, a missing --out, and a bad --lora, before reading the model', async () => {
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(bad, '{"instruction": "x", "output": "y"}\n{"messages": []}\n');
    const r = await cria(['finetune', '--model', STORIES, '--data', bad, '--out', join(tmp, 'x.gguf')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-argument.*line 2 of bad\.jsonl: "messages" must be a non-empty list/);
    const noOut = await cria(['finetune', '--model', STORIES, '--data', bad]);
    expect(noOut.stderr).toMatch(/no output given: pass --out ADAPTER\.gguf/);
    const badLora = await cria(['generate', '--model', STORIES, '--engine', 'reference', '--prompt', 'x', '--lora', join(tmp, 'nope.gguf')]);
    expect(badLora.stderr).toMatch(/cannot open --lora .*nope\.gguf/);
    const model = await cria(['generate', '--model', STORIES, '--engine', 'reference', '--prompt', 'x', '--lora', STORIES]);
    expect(model.stderr).toMatch(/bad-file.*not a LoRA adapter/);
  }, 120_000);
});
