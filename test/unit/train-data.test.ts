/**
 * Fine-tuning data (src/train/data.ts): Alpaca and chat records read from JSON Lines with every
 * problem named by its line; each made into tokens whose learned positions are exactly the
 * assistant's answers (and the end of their turns): through Qwen2.5's real chat template and
 * vocabulary (fixtures), and through Alpaca's own prompt for a model without a template; the seeded
 * held-out split.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gv } from '../../src/formats/gguf-writer.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { ALPACA_PROMPT, parseTrainingJsonl, recordExample, splitRecords } from '../../src/train/data.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { fixtureGguf } from './helpers/models.ts';
import { FIXTURES, qwen2Meta } from './helpers/tokenizer-fixtures.ts';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (isCriaError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('expected a refusal');
};

describe('reading examples', () => {
  it('Alpaca and chat records; blank lines skipped; each problem named with its line', () => {
    const text = [
      JSON.stringify({ instruction: 'Add.', input: '2 and 3', output: '5' }),
      '',
      JSON.stringify({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }] }),
      JSON.stringify({ instruction: 'Say hi.', output: 'Hi!' }),
    ].join('\n');
    const recs = parseTrainingJsonl(text);
    expect(recs.map((r) => [r.line, r.kind, r.messages.length])).toEqual([
      [1, 'alpaca', 2],
      [3, 'chat', 3],
      [4, 'alpaca', 2],
    ]);
    expect(recs[0]!.messages[0]!.content).toBe('Add.\n\n2 and 3');
    expect(recs[0]!.alpaca).toEqual({ instruction: 'Add.', input: '2 and 3' });
    const bad: [string, string][] = [
      ['{"instruction": "x", "output": "y"}\n{oops', 'line 2 of ex.jsonl: not JSON'],
      ['[1, 2]', 'line 1 of ex.jsonl: an example is an object'],
      ['{"instruction": "x", "output": 3}', 'line 1 of ex.jsonl: "output" must be a string'],
      ['{"instruction": "x", "output": " "}', 'line 1 of ex.jsonl: "output" is empty: nothing to learn'],
      ['{"messages": [{"role": "user", "content": "x"}]}', 'line 1 of ex.jsonl: no assistant message: nothing to learn'],
      ['{"messages": [{"role": "robot", "content": "x"}]}', 'line 1 of ex.jsonl: messages[0] must be {role: system | user | assistant, content: string}'],
      ['{"prompt": "x", "completion": "y"}', 'line 1 of ex.jsonl: neither an Alpaca record ({instruction, input, output}) nor a chat ({messages})'],
      ['\n\n', 'ex.jsonl holds no examples'],
    ];
    for (const [t, message] of bad) expect(refusal(() => parseTrainingJsonl(t, 'ex.jsonl')).slice(0, `bad-argument: ${message}`.length)).toBe(`bad-argument: ${message}`);
  });

  it('splits held-out examples by seed: the same seed, the same split; at least one held out', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const a = splitRecords(xs, 0.1, 3);
    expect(a.heldOut).toHaveLength(5);
    expect(a.train).toHaveLength(45);
    expect(splitRecords(xs, 0.1, 3)).toEqual(a);
    expect(splitRecords(xs, 0.1, 4).heldOut).not.toEqual(a.heldOut);
    expect(splitRecords([1, 2, 3], 0.01, 0).heldOut).toHaveLength(1);
    expect(splitRecords([1, 2, 3], 0, 0).heldOut).toHaveLength(0);
    expect(refusal(() => splitRecords(xs, 1, 0))).toMatch(/held-out share must be in \[0, 1\)/);
  });
});

describe('examples as tokens: only the answers are learned', () => {
  const learnedText = (tok: ReturnType<typeof createTokenizer>, ex: { tokens: number[]; targets: number[] }) => {
    // the targets at learned positions, grouped into runs
    const runs: number[][] = [];
    let cur: number[] | undefined;
    ex.targets.forEach((t) => {
      if (t >= 0) (cur ??= []).push(t);
      else if (cur) {
        runs.push(cur);
        cur = undefined;
      }
    });
    if (cur) runs.push(cur);
    return runs.map((r) => tok.decode(r, { startOfText: false, special: true }));
  };

  it("through Qwen2.5's chat template: each assistant turn and its end of turn, nothing else; the tokens are the whole conversation's", () => {
    const meta = qwen2Meta();
    meta.set('tokenizer.chat_template', gv.str(readFileSync(`${FIXTURES}chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja`, 'utf8')));
    const tok = createTokenizer(meta);
    const [rec] = parseTrainingJsonl(
      JSON.stringify({ messages: [{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'Blue.' }, { role: 'user', content: 'Another?' }, { role: 'assistant', content: 'Red <|im_end|> or green.' }] }),
    );
    const ex = recordExample(tok, rec!, 4096);
    expect(ex.truncated).toBe(false);
    // the template writes "<|im_end|>\n" after every message: the answer's end of turn is learned
    expect(learnedText(tok, ex)).toEqual(['Blue.<|im_end|>\n', 'Red <|im_end|> or green.<|im_end|>\n']);
    const whole = tok.encodeChat(rec!.messages.map((m) => ({ ...m })), { addGenerationPrompt: false });
    expect(ex.tokens).toEqual(whole);
    // the text "<|im_end|>" inside an answer is plain text, not the control token
    const imEnd = tok.encode('<|im_end|>', { addSpecial: false, parseSpecial: true });
    expect(imEnd).toHaveLength(1);
    expect(ex.targets.filter((t) => t === imEnd[0]).length).toBe(2);
    // cut at maxLen: the answer past it is lost, and said so
    const cut = recordExample(tok, rec!, 30);
    expect(cut.tokens).toHaveLength(30);
    expect(cut.truncated).toBe(true);
    expect(cut.learned).toBeLessThan(ex.learned);
  });

  it("without a template: Alpaca's prompt, then the answer and EOS (stories260K)", async () => {
    const file = await fixtureGguf('models/stories260K/stories260K-f32.gguf');
    const tok = createTokenizer(file.metadata);
    expect(tok.chatTemplate).toBeUndefined();
    const [rec] = parseTrainingJsonl(JSON.stringify({ instruction: 'Say hi.', input: 'to Tom', output: 'Hi Tom!' }));
    const ex = recordExample(tok, rec!, 4096);
    const prompt = tok.encode(ALPACA_PROMPT.withInput.replace('{instruction}', 'Say hi.').replace('{input}', 'to Tom'), { addSpecial: true, parseSpecial: false });
    expect(ex.tokens.slice(0, prompt.length)).toEqual(prompt);
    const answer = [...tok.encode('Hi Tom!', { addSpecial: false, parseSpecial: false }), tok.eos];
    expect(ex.tokens.slice(prompt.length)).toEqual(answer);
    expect(ex.targets.filter((t) => t >= 0)).toEqual(answer);
    expect(ex.targets.findIndex((t) => t >= 0)).toBe(prompt.length - 1);
  });
});
