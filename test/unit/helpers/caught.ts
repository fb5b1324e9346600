import { isCriaError } from '../../../src/shared/errors.ts';

/** The error `fn` throws; fails the test when it throws nothing. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/** A CriaError's "code: message" from what `fn` throws or rejects with; fails the test when it succeeds or throws something else. */
export async function refusal(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (!isCriaError(e)) throw e;
    return `${e.code}: ${e.message}`;
  }
  throw new Error('expected a refusal');
}
