/**
 * Letter choice, ColossalEval style: the options are listed with letters in the prompt, which
 * ends with "Answer:", and the log-probability of each letter as the next token (" A", " B", …)
 * decides. The prompt (ColossalEval's MMLU layout):
 *
 *   {instruction}\n\n          — option `instruction`, with {category}; by default, when the item
 *                                has a category: "The following is a single-choice question on
 *                                {category}. Answer the question by replying A, B, C or D."
 *   Question: {question}\n     — the item's `question` (else its `context`)
 *   A. {choice 0, trimmed}\n
 *   B. …
 *   Answer:
 *
 * The score of a letter is the log-probability of the continuation " A" (score() tokenizes
 * context and continuation together); in real tokenizers " A" is one token, so this is the
 * next-token log-probability. A tokenizer that splits it (e.g. "▁" + "A") gets the product of
 * its pieces' probabilities. acc = [argmax = gold] with its standard error; all letters have the
 * same length, so there is no acc_norm.
 */
import type { ChoiceItem } from '../types.ts';
import { argmax, utf8Bytes } from '../stats.ts';
import { choiceAggregate, choiceItemProblem, scoreChoices } from './multiple-choice.ts';
import { checkItems, type ItemKind } from './kind.ts';

export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const DEFAULT_LETTER_INSTRUCTION = 'The following is a single-choice question on {category}. Answer the question by replying {letters}.';

/** "A, B, C or D" */
function letterList(n: number): string {
  const l = LETTERS.slice(0, n).split('');
  return l.length <= 1 ? l.join('') : `${l.slice(0, -1).join(', ')} or ${l[l.length - 1]}`;
}

export function letterPrompt(item: ChoiceItem, instruction: string | undefined): string {
  const inst = instruction ?? (item.category ? DEFAULT_LETTER_INSTRUCTION : '');
  const head = inst ? inst.replaceAll('{category}', (item.category ?? '').replaceAll('_', ' ')).replaceAll('{letters}', letterList(item.choices.length)) + '\n\n' : '';
  const question = (item.question ?? item.context).trim();
  const options = item.choices.map((c, i) => `${LETTERS[i]}. ${c.trim()}`).join('\n');
  return `${head}Question: ${question}\n${options}\nAnswer:`;
}

export const letterChoice: ItemKind<ChoiceItem> = {
  async units(task) {
    return checkItems<ChoiceItem>(task.items, 'letter-choice', (i) => choiceItemProblem(i, false) ?? (i.choices.length > LETTERS.length ? 'more choices than letters' : undefined));
  },

  async run(item, ctx) {
    const instruction = ctx.task.options?.instruction;
    const prompt = letterPrompt(item, typeof instruction === 'string' ? instruction : undefined);
    const letters = item.choices.map((_, i) => ' ' + LETTERS[i]);
    const { logprobs, greedy } = await scoreChoices(ctx, prompt, letters);
    const pred = argmax(logprobs);
    return { id: item.id, category: item.category, choice: { logprobs, bytes: letters.map(utf8Bytes), pred, predNorm: pred, gold: item.gold, greedy } };
  },

  aggregate(results) {
    return choiceAggregate(results, false);
  },
};
