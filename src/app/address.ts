/**
 * What the user typed in "Add a model by address", as a model source: a GGUF file's URL, or an ONNX
 * repository (a Hugging Face repository id `owner/name`, its page `https://huggingface.co/owner/name`,
 * a repository's base URL ending in `/`, or the URL of a `.onnx` graph). Pure, so it is tested
 * without a browser; the runtime is chosen from this shape, never by trying one and then another.
 */
import type { ModelSource } from '../client/index.ts';

export type ParsedAddress = { source: ModelSource; label: string; format: 'gguf' | 'onnx' } | { error: string };

const REPO_ID = /^[\w.-]+\/[\w.-]+$/;

export function parseModelAddress(text: string): ParsedAddress {
  const t = text.trim();
  if (t === '') return { error: 'Type or paste an address: a link to a .gguf file, or a Hugging Face repository of an ONNX model (owner/name).' };
  if (REPO_ID.test(t) && !t.split('/').some((p) => /^\.+$/.test(p))) return { source: { onnx: { repo: t } }, label: t, format: 'onnx' };
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    return { error: 'That is not a web address or a repository id. Paste the full link, starting with https://, or an id like onnx-community/SmolLM2-135M-Instruct.' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: 'Only http(s) addresses can be downloaded.' };
  const hf = url.hostname === 'huggingface.co' || url.hostname === 'hf.co';
  // a Hugging Face page link (…/blob/main/x.gguf) names the file; the download is …/resolve/main/x.gguf
  if (hf && url.pathname.includes('/blob/')) url.pathname = url.pathname.replace('/blob/', '/resolve/');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  // a Hugging Face repository's page (…/owner/name, …/owner/name/tree/main): an ONNX repository
  if (hf && (parts.length === 2 || (parts.length >= 4 && parts[2] === 'tree'))) {
    const repo = `${parts[0]}/${parts[1]}`;
    const revision = parts[2] === 'tree' ? parts.slice(3).join('/') : undefined;
    if (REPO_ID.test(repo)) return { source: { onnx: { repo, ...(revision && revision !== 'main' ? { revision } : {}) } }, label: repo, format: 'onnx' };
  }
  const last = parts.at(-1) ?? url.host;
  if (/\.onnx$/i.test(url.pathname)) return { source: { url: url.href }, label: hf && parts.length >= 2 ? `${parts[0]}/${parts[1]}` : last, format: 'onnx' };
  if (url.pathname.endsWith('/')) return { source: { onnx: { url: url.href } }, label: hf && parts.length >= 2 ? `${parts[0]}/${parts[1]}` : last, format: 'onnx' };
  return { source: { url: url.href }, label: last, format: 'gguf' };
}
