/**
 * The Eval page's account of runtimes (src/app/eval-format.ts, eval-report.ts): the note shown by the
 * task list when a model of the run is an MLC model (WebLLM scores one token per step, so the scoring
 * kinds are slow there and the generating ones are not), and the labels a report gives each runtime.
 */
import { describe, expect, it } from 'vitest';
import { modelLabel, runtimeLabel, runtimeOfFormat, SCORING_KINDS, webllmTaskNote } from '../../src/app/eval-format.ts';
import type { TaskKind } from '../../src/eval/index.ts';

const KINDS: TaskKind[] = ['perplexity', 'multiple-choice', 'letter-choice', 'generation', 'judge-single', 'judge-pairwise', 'speed'];

describe('the Eval page and WebLLM', () => {
  it('a cached model\'s format says what runs it', () => {
    expect(runtimeOfFormat('mlc')).toBe('webllm');
    expect(runtimeOfFormat('onnx')).toBe('onnx');
    expect(runtimeOfFormat('gguf')).toBe('cria');
    expect(runtimeOfFormat(undefined)).toBe('cria');
  });

  it('no note when no model of the run is an MLC model', () => {
    for (const kind of KINDS) {
      expect(webllmTaskNote(['cria'], kind)).toBeUndefined();
      expect(webllmTaskNote(['onnx', 'cria', undefined], kind)).toBeUndefined();
      expect(webllmTaskNote([], kind)).toBeUndefined();
    }
  });

  it.each(KINDS)('an MLC model, %s: the note, flagged slow for the kinds that score tokens only', (kind) => {
    const slow = kind === 'perplexity' || kind === 'multiple-choice' || kind === 'letter-choice';
    expect(SCORING_KINDS.has(kind)).toBe(slow);
    const note = webllmTaskNote(['cria', 'webllm'], kind);
    expect(note?.slow).toBe(slow);
    expect(note?.text).toMatch(/one WebLLM step per scored token/);
    expect(note?.text).toMatch(/Generation, judge and speed tasks run as usual/);
  });

  it('no task chosen yet: the note, not flagged', () => {
    expect(webllmTaskNote(['webllm'], undefined)).toMatchObject({ slow: false });
  });

  it('a report names each runtime, and marks the models not run by Cria\'s own engine', () => {
    expect(runtimeLabel('webllm')).toBe('WebLLM (MLC)');
    expect(runtimeLabel('onnx')).toBe('onnxruntime-web (ONNX)');
    expect(runtimeLabel('cria')).toBe('Cria (GGUF)');
    expect(runtimeLabel(undefined)).toBe('Cria (GGUF)'); // runs recorded before runtimes were
    const model = (runtime?: 'cria' | 'onnx' | 'webllm') => ({ id: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC', architecture: 'qwen2', parameters: 0, tensorTypes: {}, runtime });
    expect(modelLabel(model('webllm'))).toBe('Qwen2.5-0.5B-Instruct-q4f32_1-MLC (MLC)');
    expect(modelLabel(model('onnx'), 'named')).toBe('named (ONNX)');
    expect(modelLabel(model('cria'))).toBe('Qwen2.5-0.5B-Instruct-q4f32_1-MLC');
    expect(modelLabel(undefined)).toBeUndefined();
  });
});
