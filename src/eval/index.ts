/**
 * Cria's evaluation library: measure a model on this device, through the same client API users
 * get. The pieces, in the order a caller uses them:
 *
 *   const task = await loadCatalogueTask('hellaswag', { limit: 200 });   // or a loader, or parseUserTask
 *   const store = await IdbEvalStore.open();
 *   const { report } = await runTask({
 *     task, store,
 *     loadModel: async (which) => { await client.load(sources[which]); return fromClient(client); },
 *     onProgress: (p) => …, signal,
 *   });
 *   download(reportToJson(report)); // or reportToCsv / reportsToCsv / compareReports
 *
 * A stopped run continues with `runTask({ …, resume: run.id })` (store.listRuns() lists them).
 */
export type * from './types.ts';
export { fromClient, PLAIN_CHAT_TEMPLATE, PLAIN_CHAT_STOP, type FromClientOptions } from './target.ts';
export { runTask, newRunId, modelIdentity, type RunOptions, type RunOutcome, type EvalProgress, type ModelRole } from './runner.ts';
export { IdbEvalStore, EVAL_DB_NAME, EVAL_DB_VERSION, type EvalStore, type ResultPhase } from './store.ts';
export { buildReport, compareReports, reportToJson, reportToCsv, reportsToCsv, itemsToCsv, reportFromStore, type ReportComparison, type MetricComparison } from './report.ts';
export { CATALOGUE, catalogueEntry, loadCatalogueTask, type CatalogueEntry, type CatalogueLoadOptions } from './catalogue.ts';
export { ENGINE_VERSION } from './version.ts';

// task kinds (for callers that run items themselves, and for their documented constants)
export { aggregate, itemKinds, judgedKinds, isJudged } from './kinds/index.ts';
export { llamaCppChunks, slidingWindows, documentTokens, DEFAULT_PPL_CTX, type PerplexityMethod } from './kinds/perplexity.ts';
export { letterPrompt, DEFAULT_LETTER_INSTRUCTION } from './kinds/letter-choice.ts';
export { normalizeAnswer, extractAnswer } from './kinds/generation.ts';
export { speedTask, DEFAULT_SPEED_PROMPT } from './kinds/speed.ts';
export {
  DEFAULT_TEMPERATURES,
  OTHER_TEMPERATURE,
  NEED_REF_CATEGORIES,
  parseRating,
  parsePairVerdict,
  fillTemplate,
  pickPrompt,
  type JudgePrompt,
  type Contestant,
} from './kinds/judge-common.ts';

// loaders
export { parseJsonl, parseCsv } from './data/parse.ts';
export { parseHellaswagText, parseHellaswagJsonl, hellaswagPreprocess, hellaswagTask } from './data/hellaswag.ts';
export { parseMmluCsv, mmluTask } from './data/mmlu.ts';
export { parseArc, arcTask } from './data/arc.ts';
export { parsePiqa, piqaTask } from './data/piqa.ts';
export { parseGsm8k, gsm8kTask } from './data/gsm8k.ts';
export { parseJudgeQuestions, parseReferenceAnswers, parseJudgePrompts, judgeTask, withJudgePrompts } from './data/judge-bench.ts';
export { parseUserTask } from './data/user.ts';
export { perplexityTask } from './data/text.ts';
export { readZip, readZipText, type ZipEntry } from './data/zip.ts';
