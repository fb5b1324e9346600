/**
 * A small synthetic fine-tuning task (test/unit/lora-train.test.ts, test/gpu/train.spec.ts): which
 * colour each of ten animals is, asked in many one-sentence contexts; the last contexts are held out
 * (never trained on), so held-out prompts test the mapping, not the sentences.
 */
import type { Tokenizer } from '../../../src/tokenizer/index.ts';
import type { TrainExample } from '../../../src/train/lora-train.ts';

export const ANIMALS = ['cat', 'dog', 'bird', 'fish', 'frog', 'duck', 'bear', 'cow', 'pig', 'fox'];
export const COLORS = ['red', 'blue', 'green', 'pink', 'brown', 'black', 'white', 'gray', 'gold', 'purple'];
export const CONTEXTS = [
  'Once upon a time there was a farm.', 'Tom went to the park.', 'The sun was hot.', 'Lily had a big box.', 'It was a rainy day.',
  'Ben liked to play.', 'The girl saw a tree.', 'Mom made a cake.', 'They went to the sea.', 'The boy was happy.',
  'A little car was fast.', 'The sky was dark.', 'Sue found a ball.', 'Dad read a book.', 'The dog ran away.',
  'Tim had a red hat.', 'The flower was pretty.', 'Amy sang a song.', 'The cat was sleepy.', 'Jack climbed a hill.',
  // held out: contexts never trained on
  'The moon was bright.', 'Sam ate an apple.', 'The king was old.', 'Anna drew a picture.',
];
export const TRAIN_CONTEXTS = 20;

export function example(tok: Tokenizer, context: string, a: number): { ex: TrainExample; prompt: number[]; answer: string; answerTokens: number[] } {
  const prompt = tok.encode(`${context} What color is the ${ANIMALS[a]}? It is`, { addSpecial: true, parseSpecial: false });
  const answer = ` ${COLORS[a]}.`;
  const ans = tok.encode(`${context} What color is the ${ANIMALS[a]}? It is${answer}`, { addSpecial: true, parseSpecial: false }).slice(prompt.length);
  const tokens = [...prompt, ...ans];
  // learned: the answer's tokens (each predicted from the position before it)
  const targets = tokens.map((_, t) => (t >= prompt.length - 1 && t + 1 < tokens.length ? tokens[t + 1]! : -1));
  return { ex: { tokens, targets }, prompt, answer, answerTokens: ans };
}

