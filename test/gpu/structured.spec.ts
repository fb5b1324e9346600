/**
 * Structured output in Chromium, in the engine's worker: xgrammar (WebAssembly) loads there, and the
 * mask is applied on each backend: WebGPU (on the device, inside the token's one submit) and
 * WebAssembly. stories260K from the model server; answers under a JSON Schema must validate (ajv, in
 * the test's process) and equal, token for token, what the CPU reference answers in Node (same weights,
 * same seed: the backends' logits agree to ~1e-5, far from the sampled tokens' margins here); a
 * grammar's answer must be one of its strings.
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { expect, test } from '@playwright/test';
import { Engine } from '../../src/engine/engine.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { MODEL_SERVER } from '../server/ports.ts';
import { FIXTURES_DIR } from '../server/model-server.ts';

const MODEL = 'models/stories260K/stories260K-f32.gguf';
const SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer', minimum: 1, maximum: 9 }, pet: { enum: ['cat', 'dog'] } },
  required: ['name', 'age', 'pet'],
  additionalProperties: false,
};
const REQUESTS = [
  { prompt: 'Once upon a time', max_tokens: 60, temperature: 0, response_format: { type: 'json_schema' as const, json_schema: { name: 'p', schema: SCHEMA } } },
  { prompt: 'The little dog', max_tokens: 60, temperature: 0.9, top_k: 30, seed: 5, response_format: { type: 'json_schema' as const, json_schema: { name: 'p', schema: SCHEMA } } },
  { prompt: 'Tom said', max_tokens: 10, temperature: 0, grammar: 'root ::= "yes" | "no" | "maybe"' },
];

let reference: { text: string; tokens: number[]; finish: string | null }[];
test.beforeAll(async () => {
  const e = new Engine({ createBackend: async () => new CpuBackend() });
  await e.load({ bytes: readFileSync(FIXTURES_DIR + MODEL).buffer as ArrayBuffer, name: 'stories' });
  reference = [];
  for (const r of REQUESTS) {
    const c = (await e.completion(r)).choices[0];
    reference.push({ text: c.text, tokens: c.token_ids, finish: c.finish_reason });
  }
});

for (const backend of ['webgpu', 'wasm'] as const) {
  test(`JSON Schema and grammar answers on the ${backend} backend: valid, and the CPU reference's tokens`, async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/test/gpu/pages/structured.html');
    await page.waitForFunction(() => window.criaStructured !== undefined);
    expect(await page.evaluate(([u, b]) => window.criaStructured!.load(u, b), [`${MODEL_SERVER}/models/${MODEL}`, backend] as const)).toEqual({ backend });
    const validate = new Ajv().compile(SCHEMA);
    for (const [i, req] of REQUESTS.entries()) {
      const r = await page.evaluate((q) => window.criaStructured!.complete(q), req);
      expect(r.error).toBeNull();
      expect(r.tokens, `request ${i}: the reference's tokens`).toEqual(reference[i].tokens);
      expect(r.finish).toBe(reference[i].finish);
      if (req.grammar) expect(['yes', 'no', 'maybe']).toContain(r.text);
      else if (r.finish === 'stop') expect(validate(JSON.parse(r.text)), r.text).toBe(true);
      // greedy on WebGPU: one submit and 4 bytes (the argmax) per generated token, the mask included
      if (backend === 'webgpu' && req.temperature === 0) {
        console.log(`webgpu greedy, masked: ${r.submits} submits, ${r.bytesReadBack} bytes read back for ${r.tokens.length} tokens`);
        // one per step: the prompt's, then one per generated token (the last one picks the end token)
        expect(r.submits).toBe(r.tokens.length + 1);
        expect(r.bytesReadBack).toBe(4 * (r.tokens.length + 1));
      }
    }
    expect(errors).toEqual([]);
  });
}
