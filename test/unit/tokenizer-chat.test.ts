/**
 * Chat templates rendered with @huggingface/jinja. The expectations are the
 * published prompt formats of each family (ChatML for Qwen, Llama 3 headers,
 * Phi-3 role tags, Gemma turns, Mistral [INST]), not snapshots of our output.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isCriaError } from '../../src/shared/errors.ts';
import { renderChatTemplate, type ChatMessage } from '../../src/tokenizer/chat-template.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { FIXTURES, qwen2Meta, readVocabGguf } from './helpers/tokenizer-fixtures.ts';

const jinja = (name: string) => readFileSync(`${FIXTURES}chat-templates/${name}.jinja`, 'utf8');
const configTemplate = (dir: string) => (JSON.parse(readFileSync(`${FIXTURES}tokenizers/${dir}/tokenizer_config.json`, 'utf8')) as { chat_template: string }).chat_template;

const SYSTEM: ChatMessage = { role: 'system', content: 'You are terse.' };
const CHAT: ChatMessage[] = [
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'Hello! How can I help?' },
  { role: 'user', content: 'Tell me a joke.' },
];

function render(template: string, messages: ChatMessage[], addGenerationPrompt: boolean, bos = '<s>', eos = '</s>') {
  return renderChatTemplate(template, messages, { bos, eos }, { addGenerationPrompt });
}

function expectCode(fn: () => unknown, code: string, pattern: RegExp) {
  try {
    fn();
  } catch (e) {
    expect(isCriaError(e) && e.code).toBe(code);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an error');
}

describe('chat templates', () => {
  for (const [name, template] of [
    ['Qwen2.5 (.jinja)', jinja('Qwen-Qwen2.5-7B-Instruct')],
    ['Qwen2.5 (tokenizer_config.json)', configTemplate('qwen2.5')],
  ] as const) {
    it(`${name}: ChatML turns, generation prompt only when asked`, () => {
      const withPrompt = render(template, [SYSTEM, ...CHAT], true);
      expect(withPrompt.startsWith('<|im_start|>system\nYou are terse.<|im_end|>\n')).toBe(true);
      expect(withPrompt).toContain('<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello! How can I help?<|im_end|>\n');
      expect(withPrompt.endsWith('<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\n')).toBe(true);
      const without = render(template, [SYSTEM, ...CHAT], false);
      expect(without.endsWith('Tell me a joke.<|im_end|>\n')).toBe(true);
      // no system message: Qwen2.5 inserts its default one
      expect(render(template, CHAT, true)).toMatch(/^<\|im_start\|>system\n.*Qwen.*<\|im_end\|>\n<\|im_start\|>user\nHi there/s);
    });
  }

  for (const name of ['meta-llama-Llama-3.1-8B-Instruct', 'meta-llama-Llama-3.2-3B-Instruct']) {
    it(`${name}: BOS, header-delimited turns ending in <|eot_id|>`, () => {
      const out = render(jinja(name), [SYSTEM, ...CHAT], true, '<|begin_of_text|>');
      expect(out.startsWith('<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n')).toBe(true);
      expect(out).toContain('You are terse.<|eot_id|>');
      expect(out).toContain('<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>');
      expect(out).toContain('<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>');
      expect(out.endsWith('Tell me a joke.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n')).toBe(true);
      expect(render(jinja(name), CHAT, false, '<|begin_of_text|>').endsWith('Tell me a joke.<|eot_id|>')).toBe(true);
    });
  }

  for (const [name, template] of [
    ['Phi-3.5-mini (.jinja)', jinja('microsoft-Phi-3.5-mini-instruct')],
    ['Phi-3-mini (tokenizer_config.json)', configTemplate('phi-3-mini')],
  ] as const) {
    it(`${name}: <|role|>\\n…<|end|>\\n turns`, () => {
      const out = render(template, CHAT, true);
      expect(out).toContain('<|user|>\nHi there<|end|>\n<|assistant|>\nHello! How can I help?<|end|>\n<|user|>\nTell me a joke.<|end|>\n');
      expect(out.endsWith('<|assistant|>\n')).toBe(true);
      // without the prompt, Phi-3-mini's template ends the conversation with eos_token instead
      expect(render(template, CHAT, false).replace(/<\/s>$/, '').endsWith('Tell me a joke.<|end|>\n')).toBe(true);
    });
  }

  it('Gemma 2 and Gemma: <start_of_turn> user/model turns; a system message is refused by the template itself', () => {
    for (const template of [jinja('google-gemma-2-2b-it'), configTemplate('gemma')]) {
      const out = render(template, CHAT, true, '<bos>');
      expect(out).toBe(
        '<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\nHello! How can I help?<end_of_turn>\n' +
          '<start_of_turn>user\nTell me a joke.<end_of_turn>\n<start_of_turn>model\n',
      );
      expectCode(() => render(template, [SYSTEM, ...CHAT], true), 'bad-argument', /rejected the conversation: System role not supported/);
    }
  });

  it('Gemma 3: the system message is folded into the first user turn', () => {
    const template = (JSON.parse(readFileSync(`${FIXTURES}tokenizers/gemma-3/chat_template.json`, 'utf8')) as { chat_template: string }).chat_template;
    const out = render(template, [SYSTEM, ...CHAT], true, '<bos>');
    expect(out.startsWith('<bos><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n')).toBe(true);
    expect(out.endsWith('<start_of_turn>model\n')).toBe(true);
  });

  it('Mistral Nemo: [INST]…[/INST] with EOS after answers; roles must alternate', () => {
    const t = jinja('mistralai-Mistral-Nemo-Instruct-2407');
    expect(render(t, CHAT, true)).toBe('<s>[INST]Hi there[/INST]Hello! How can I help?</s>[INST]Tell me a joke.[/INST]');
    expectCode(() => render(t, [CHAT[0], CHAT[0]], true), 'bad-argument', /alternate/);
  });

  it('DeepSeek-R1-Distill-Qwen: <｜User｜>/<｜Assistant｜> markers', () => {
    const out = render(jinja('deepseek-ai-DeepSeek-R1-Distill-Qwen-32B'), CHAT, true, '<｜begin▁of▁sentence｜>');
    expect(out.startsWith('<｜begin▁of▁sentence｜><｜User｜>Hi there<｜Assistant｜>Hello! How can I help?<｜end▁of▁sentence｜>')).toBe(true);
    expect(out).toContain('<｜User｜>Tell me a joke.<｜Assistant｜>');
  });

  it("ollama's 35 test templates all render, keep the messages in order, and add_generation_prompt only appends (or replaces a final EOS)", () => {
    const lines = readFileSync(`${FIXTURES}chat-templates/ollama-templates.jsonl`, 'utf8').split('\n').filter(Boolean);
    expect(lines.length).toBe(35);
    for (const line of lines) {
      const [[family, template]] = Object.entries(JSON.parse(line) as Record<string, string>);
      const on = render(template, CHAT, true);
      const off = render(template, CHAT, false);
      const at = CHAT.map((m) => on.indexOf(m.content));
      expect(at.every((x, i) => x >= 0 && (i === 0 || x > at[i - 1])), family).toBe(true);
      expect(on.startsWith(off.replace(/<\/s>$/, '')), family).toBe(true);
    }
  });

  it('a template that does not parse is a bad-file error', () => {
    expectCode(() => render('{% for m in messages %}{{ m.content }', CHAT, true), 'bad-file', /chat template/);
  });
});

describe('Tokenizer.applyChatTemplate', () => {
  it('Qwen2.5: the rendered prompt tokenizes to ChatML control tokens only with parseSpecial', () => {
    const tok = createTokenizer(qwen2Meta());
    const prompt = tok.applyChatTemplate([SYSTEM, ...CHAT], { addGenerationPrompt: true });
    const ids = tok.encode(prompt, { addSpecial: false, parseSpecial: true });
    const count = (id: number) => ids.filter((x) => x === id).length;
    expect(count(151644)).toBe(5); // <|im_start|>: 4 messages + the generation prompt
    expect(count(151645)).toBe(4); // <|im_end|>
    expect(ids.slice(-3)).toEqual([151644, ...tok.encode('assistant\n', { addSpecial: false })]);
    expect(tok.decode(ids, { special: true })).toBe(prompt);
    expect(tok.encode(prompt, { addSpecial: false }).some((x) => x >= 151643)).toBe(false);
    expect(tok.isEog(151645)).toBe(true);
  });

  it("Phi-3 GGUF: uses the model's own template with its BOS text", async () => {
    const tok = createTokenizer(await readVocabGguf('phi-3'));
    const out = tok.applyChatTemplate(CHAT);
    expect(out.startsWith('<s><|user|>\nHi there<|end|>\n<|assistant|>\n')).toBe(true);
    expect(out.endsWith('<|assistant|>\n')).toBe(true);
  });

  it('a model without a template says so and what to do; an explicit template works', async () => {
    const tok = createTokenizer(await readVocabGguf('gpt-2'));
    expect(tok.chatTemplate).toBeUndefined();
    expectCode(() => tok.applyChatTemplate(CHAT), 'missing-key', /no chat template.*tokenizer\.chat_template.*Pass a template/);
    expect(tok.applyChatTemplate(CHAT, { template: '{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}' })).toBe(
      'user: Hi there\nassistant: Hello! How can I help?\nuser: Tell me a joke.\n',
    );
  });
});
