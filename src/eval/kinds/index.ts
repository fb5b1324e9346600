/** The task kinds by name. */
import type { TaskKind } from '../types.ts';
import { generation } from './generation.ts';
import { judgePairwise } from './judge-pairwise.ts';
import { judgeSingle } from './judge-single.ts';
import type { JudgedKind } from './judge-common.ts';
import type { Aggregate, ItemKind } from './kind.ts';
import { letterChoice } from './letter-choice.ts';
import { multipleChoice } from './multiple-choice.ts';
import { perplexity } from './perplexity.ts';
import { speed } from './speed.ts';

export const itemKinds: Record<Exclude<TaskKind, 'judge-single' | 'judge-pairwise'>, ItemKind<any>> = {
  perplexity,
  'multiple-choice': multipleChoice,
  'letter-choice': letterChoice,
  generation,
  speed,
};

export const judgedKinds: Record<'judge-single' | 'judge-pairwise', JudgedKind> = {
  'judge-single': judgeSingle,
  'judge-pairwise': judgePairwise,
};

export function isJudged(kind: TaskKind): kind is 'judge-single' | 'judge-pairwise' {
  return kind === 'judge-single' || kind === 'judge-pairwise';
}

export function aggregate(kind: TaskKind, results: Parameters<ItemKind['aggregate']>[0]): Aggregate {
  return isJudged(kind) ? judgedKinds[kind].aggregate(results) : itemKinds[kind].aggregate(results);
}
