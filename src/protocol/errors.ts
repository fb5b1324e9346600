/**
 * Errors across the worker boundary. comlink's default transfer keeps only
 * name, message and stack; these plain conversions keep `code` and `detail`
 * too, and the worker and client each register them as comlink's "throw"
 * handler (this file stays comlink-free).
 */
import { CriaError, type ErrorCode } from '../shared/errors.ts';

export interface SerializedError {
  isCriaError: boolean;
  name: string;
  message: string;
  code?: ErrorCode;
  detail?: Record<string, unknown>;
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof CriaError) return { isCriaError: true, name: e.name, message: e.message, code: e.code, detail: e.detail, stack: e.stack };
  if (e instanceof Error) return { isCriaError: false, name: e.name, message: e.message, stack: e.stack };
  return { isCriaError: false, name: 'Error', message: String(e) };
}

export function deserializeError(s: SerializedError): Error {
  if (s.isCriaError && s.code) {
    const e = new CriaError(s.code, s.message, s.detail);
    if (s.stack) e.stack = s.stack;
    return e;
  }
  const e = new Error(s.message);
  e.name = s.name;
  if (s.stack) e.stack = s.stack;
  return e;
}
