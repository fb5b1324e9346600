/**
 * WebLLM's (and the browser's) errors as Cria's error codes, with what to do. WebLLM names its
 * errors (`error.name`: ShaderF16SupportError, DeviceLostError, …); the Cache API and fetch throw
 * DOMExceptions and TypeErrors. Anything not recognised stays `internal` with WebLLM's message:
 * never dressed up as something it is not.
 */
import { CriaError, isCriaError } from '../../shared/errors.ts';

export function mlcError(e: unknown, what = 'the MLC model'): CriaError {
  if (isCriaError(e)) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const name = err.name;
  const msg = err.message;
  if (name === 'AbortError') return new CriaError('aborted', `loading ${what} was aborted`);
  if (name === 'QuotaExceededError' || /quota/i.test(msg)) {
    return new CriaError('storage-quota', `the browser's storage is full: WebLLM could not keep ${what} in its cache (${msg}); free space (delete cached models) and load it again`);
  }
  if (name === 'ShaderF16SupportError' || (name === 'FeatureSupportError' && /shader-f16/.test(msg))) {
    return new CriaError('limits', `${what} needs the WebGPU feature shader-f16, which this adapter lacks; choose its q4f32_1 or q0f32 build`, { feature: 'shader-f16' });
  }
  if (name === 'FeatureSupportError') return new CriaError('limits', `${what} needs a WebGPU feature this adapter lacks: ${msg}`);
  if (name === 'WebGPUNotAvailableError' || name === 'WebGPUNotFoundError') {
    return new CriaError('webgpu-unavailable', `WebLLM runs only on WebGPU, and this browser gives none; run a GGUF model instead (Cria's WebAssembly engine needs no GPU)`);
  }
  if (name === 'DeviceLostError') return new CriaError('device-lost', `the GPU device was lost while WebLLM loaded ${what} (often: not enough GPU memory); try a smaller model or a shorter context`);
  if (name === 'ContextWindowSizeExceededError') return new CriaError('context-overflow', msg);
  if (name === 'UnsupportedTokenizerFilesError') return new CriaError('unsupported-tokenizer', `WebLLM cannot read the tokenizer of ${what}: ${msg}`);
  if (name === 'ModelNotFoundError' || name === 'MissingModelWasmError') return new CriaError('bad-argument', msg);
  if (name === 'CompileError' || name === 'LinkError' || (typeof WebAssembly !== 'undefined' && (e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError))) {
    return new CriaError('bad-file', `the model library of ${what} is not one this WebLLM can run (${msg}); model libraries pair with WebLLM versions: Cria pins @mlc-ai/web-llm 0.2.79, which runs the v0_2_48 libraries`);
  }
  if (name === 'TypeError' && /fetch|network|Request failed|Load failed/i.test(msg)) {
    return new CriaError('network', `WebLLM could not download ${what} (${msg}); check the connection and the URL, and load it again (files already stored are kept)`);
  }
  if (/^Cannot fetch /.test(msg)) return new CriaError('network', `WebLLM could not download ${what}: ${msg}`);
  if (/ndarray|shape|dtype|param/i.test(msg) && /check failed|mismatch|InternalError|not found/i.test(msg)) {
    return new CriaError('bad-file', `the weights of ${what} do not match its model library: ${msg}`);
  }
  return new CriaError('internal', `WebLLM failed: ${msg}`, { name });
}
