/** An in-memory EvalStore for Node tests (the browser uses IdbEvalStore). Values are deep-copied, as IndexedDB would. */
import type { EvalStore, ResultPhase } from '../../../src/eval/store.ts';
import type { ItemResult, Run } from '../../../src/eval/types.ts';

export class MemoryEvalStore implements EvalStore {
  readonly runs = new Map<string, Run>();
  readonly results = new Map<string, ItemResult>();
  /** every putResult, in order: "runId|phase|id" */
  readonly writes: string[] = [];

  async putRun(run: Run): Promise<void> {
    this.runs.set(run.id, structuredClone(run));
  }
  async getRun(id: string): Promise<Run | undefined> {
    const r = this.runs.get(id);
    return r && structuredClone(r);
  }
  async listRuns(): Promise<Run[]> {
    return [...this.runs.values()].sort((a, b) => b.createdAt - a.createdAt).map((r) => structuredClone(r));
  }
  async deleteRun(id: string): Promise<void> {
    this.runs.delete(id);
    for (const k of [...this.results.keys()]) if (k.startsWith(`${id}|`)) this.results.delete(k);
  }
  async putResult(runId: string, result: ItemResult, phase: ResultPhase = 'result'): Promise<void> {
    const key = `${runId}|${phase}|${result.id}`;
    this.writes.push(key);
    this.results.set(key, structuredClone(result));
  }
  async getResults(runId: string, phase: ResultPhase = 'result'): Promise<ItemResult[]> {
    const prefix = `${runId}|${phase}|`;
    return [...this.results.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => structuredClone(v));
  }
}
