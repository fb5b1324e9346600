/**
 * Errors as the app shows them. Engine errors arrive as CriaError with a
 * `code` (kept across the worker boundary); their messages already say what
 * to do, and a few codes get a title of their own.
 */
export interface AppError {
  code: string;
  title: string;
  message: string;
}

const TITLES: Record<string, string> = {
  'webgpu-unavailable': 'WebGPU is not available',
  'device-lost': 'The GPU was reset',
  'out-of-memory': 'Not enough GPU memory',
  'storage-quota': 'Not enough storage space',
  'unsupported-arch': 'This model’s architecture is not supported',
  'unsupported-type': 'This model’s number format is not supported',
  'unsupported-tokenizer': 'This model’s tokenizer is not supported',
  'bad-file': 'This is not a usable GGUF file',
  network: 'The download failed',
  'context-overflow': 'The conversation is too long for this model',
  limits: 'This GPU is too small for the model',
  'weights-corrupt': 'The cached model is damaged',
  'not-implemented': 'Not available yet',
};

export function toAppError(e: unknown): AppError {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : 'internal';
  const raw = typeof err?.message === 'string' && err.message ? err.message : String(e);
  // engine messages start in lower case (they read well after "error:" on a command line)
  const message = raw.charAt(0).toUpperCase() + raw.slice(1);
  return { code, title: TITLES[code] ?? 'Something went wrong', message };
}

export const errorCode = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
};
