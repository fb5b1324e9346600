import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../../src/engine/stop.ts';

function run(stops: string[], pieces: string[]) {
  const m = new StopMatcher(stops);
  const out = pieces.map((p) => m.push(p));
  return { out, tail: m.flush(), stopped: m.stopped };
}

describe('StopMatcher', () => {
  it('passes text through when no stop string could start', () => {
    expect(run(['END'], ['hello ', 'world'])).toEqual({ out: ['hello ', 'world'], tail: '', stopped: false });
  });

  it('holds back a possible prefix and releases it when it turns out not to match', () => {
    const r = run(['END'], ['abc E', 'N', 'x']);
    expect(r.out).toEqual(['abc ', '', 'ENx']);
    expect(r.stopped).toBe(false);
  });

  it('stops at a stop string split across pieces and drops it', () => {
    const r = run(['\nUser:'], ['Hi there', '\nUs', 'er: more']);
    expect(r.out.join('')).toBe('Hi there');
    expect(r.stopped).toBe(true);
    expect(r.tail).toBe('');
  });

  it('uses the earliest match among several stop strings', () => {
    const r = run(['bb', 'a'], ['xxbba']);
    expect(r.out.join('')).toBe('xx');
  });

  it('flushes held text at the end', () => {
    expect(run(['STOP'], ['one ST'])).toEqual({ out: ['one '], tail: 'ST', stopped: false });
  });
});
