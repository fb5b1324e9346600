/**
 * comlink's default "throw" transfer keeps only name, message and stack. This
 * replacement keeps CriaError's `code` and `detail` (src/protocol/errors.ts);
 * both sides of the worker boundary install it. It reuses comlink's own test
 * for "this value is a thrown error" (its marker symbol is not exported).
 */
import * as Comlink from 'comlink';
import { deserializeError, serializeError, type SerializedError } from '../protocol/errors.ts';

export function installErrorTransfer(): void {
  const builtin = Comlink.transferHandlers.get('throw');
  if (!builtin) throw new Error('comlink has no "throw" transfer handler to replace');
  Comlink.transferHandlers.set('throw', {
    canHandle: builtin.canHandle,
    serialize: (thrown: unknown) => [serializeError((thrown as { value: unknown }).value), []],
    deserialize: (s: SerializedError) => {
      throw deserializeError(s);
    },
  } as Comlink.TransferHandler<unknown, SerializedError>);
}
