/**
 * One error class for the whole project. `code` is a closed union so callers
 * (UI, CLI, tests) can branch on it; `message` tells the user what to do.
 * `detail` carries plain, structured-clone-safe facts (sizes, names, limits).
 */
export type ErrorCode =
  | 'bad-file' // a model file is malformed, truncated or hostile
  | 'unsupported-arch' // architecture not implemented
  | 'unsupported-type' // tensor/quant type not implemented
  | 'unsupported-tokenizer' // tokenizer model or pre-tokenizer not implemented
  | 'missing-tensor' // a tensor the architecture needs is absent
  | 'missing-key' // a metadata key the architecture needs is absent
  | 'bad-argument' // the caller passed something invalid
  | 'context-overflow' // prompt (+ generation) longer than the context
  | 'network' // HTTP error, server gave something unexpected
  | 'webgpu-unavailable'
  | 'limits' // adapter limits too small
  | 'device-lost'
  | 'out-of-memory'
  | 'weights-corrupt'
  | 'storage-quota'
  | 'aborted'
  | 'not-implemented'
  | 'internal';

export class CriaError extends Error {
  override readonly name = 'CriaError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isCriaError(e: unknown, code?: ErrorCode): e is CriaError {
  return e instanceof CriaError && (code === undefined || e.code === code);
}

/** Throw a CriaError unless `cond` holds. */
export function check(cond: unknown, code: ErrorCode, message: string, detail?: Record<string, unknown>): asserts cond {
  if (!cond) throw new CriaError(code, message, detail);
}

/** Internal invariant: a failure here is a bug in Cria, not the user's input. */
export function assert(cond: unknown, message = 'assertion failed'): asserts cond {
  if (!cond) throw new CriaError('internal', `internal error: ${message} (please report this)`);
}
