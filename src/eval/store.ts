/**
 * Where runs live: a run record (identity, status, counts) and one record per finished unit, so a
 * reload, a crash or a lost device resumes where it stopped. Judged runs also store their
 * intermediate answers (phase "answer-A" / "answer-B") so a resumed run does not ask a
 * contestant again. The narrow `EvalStore` interface lets Node tests use an in-memory store
 * (test/unit/helpers/eval-memory-store.ts); in the browser it is IndexedDB.
 *
 * IndexedDB schema (database "cria-eval", version 1, separate from the model cache "cria"):
 *   runs     keyPath id                     Run
 *   results  keyPath [runId, phase, id]     { runId, phase, id, result: ItemResult }, index byRun on runId
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { CriaError } from '../shared/errors.ts';
import type { ItemResult, Run } from './types.ts';

/** "result" for final item results; "answer-A" / "answer-B" for a judged run's answers. */
export type ResultPhase = 'result' | 'answer-A' | 'answer-B';

export interface EvalStore {
  putRun(run: Run): Promise<void>;
  getRun(id: string): Promise<Run | undefined>;
  /** newest first */
  listRuns(): Promise<Run[]>;
  /** the run and all its results */
  deleteRun(id: string): Promise<void>;
  putResult(runId: string, result: ItemResult, phase?: ResultPhase): Promise<void>;
  getResults(runId: string, phase?: ResultPhase): Promise<ItemResult[]>;
}

export const EVAL_DB_NAME = 'cria-eval';
export const EVAL_DB_VERSION = 1;

interface EvalDb extends DBSchema {
  runs: { key: string; value: Run };
  results: { key: [string, string, string]; value: { runId: string; phase: ResultPhase; id: string; result: ItemResult }; indexes: { byRun: string } };
}

/** Results of one run and phase: keys [runId, phase, *] (arrays sort after strings in IndexedDB). */
const phaseRange = (runId: string, phase: string) => IDBKeyRange.bound([runId, phase], [runId, phase, []]);

export class IdbEvalStore implements EvalStore {
  private constructor(private readonly db: IDBPDatabase<EvalDb>) {}

  static async open(name = EVAL_DB_NAME): Promise<IdbEvalStore> {
    if (typeof indexedDB === 'undefined') throw new CriaError('not-implemented', 'IndexedDB is not available here, so evaluation runs cannot be stored; use an in-memory store');
    const db = await openDB<EvalDb>(name, EVAL_DB_VERSION, {
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore('runs', { keyPath: 'id' });
          db.createObjectStore('results', { keyPath: ['runId', 'phase', 'id'] }).createIndex('byRun', 'runId');
        }
      },
      blocking() {
        db.close();
      },
    });
    return new IdbEvalStore(db);
  }

  close(): void {
    this.db.close();
  }

  async putRun(run: Run): Promise<void> {
    await this.db.put('runs', run);
  }

  getRun(id: string): Promise<Run | undefined> {
    return this.db.get('runs', id);
  }

  async listRuns(): Promise<Run[]> {
    return (await this.db.getAll('runs')).sort((a, b) => b.createdAt - a.createdAt);
  }

  async deleteRun(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'results'], 'readwrite');
    const keys = await tx.objectStore('results').index('byRun').getAllKeys(id);
    await Promise.all([tx.objectStore('runs').delete(id), ...keys.map((k) => tx.objectStore('results').delete(k)), tx.done]);
  }

  async putResult(runId: string, result: ItemResult, phase: ResultPhase = 'result'): Promise<void> {
    await this.db.put('results', { runId, phase, id: result.id, result });
  }

  async getResults(runId: string, phase: ResultPhase = 'result'): Promise<ItemResult[]> {
    return (await this.db.getAll('results', phaseRange(runId, phase))).map((r) => r.result);
  }
}
