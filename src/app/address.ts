/**
 * What the user typed in "Add a model by address", as a model source: a GGUF file's URL, an ONNX
 * repository (a Hugging Face repository id `owner/name`, its page `https://huggingface.co/owner/name`,
 * a repository's base URL ending in `/`, or the URL of a `.onnx` graph), or a model of WebLLM's
 * prebuilt list (its id, ending in `-MLC`, alone or as mlc-ai's repository: run by WebLLM). Pure, so it is tested
 * without a browser; the runtime is chosen from this shape, never by trying one and then another.
 */
import type { ModelSource } from '../client/index.ts';

export type ParsedAddress = { source: ModelSource; label: string; format: 'gguf' | 'onnx' | 'mlc' } | { error: string };

const REPO_ID = /^[\w.-]+\/[\w.-]+$/;
/** a model of WebLLM's prebuilt list: its ids end in -MLC (SmolLM2-135M-Instruct-q0f32-MLC), as do its repositories (mlc-ai/…-MLC) */
const MLC_ID = /^[\w.-]+-MLC$/;
const mlc = (id: string): ParsedAddress => ({ source: { mlc: { id } }, label: id, format: 'mlc' });
/** MLC weights outside WebLLM's prebuilt list run only with their model library, which one address cannot name */
const customMlc = (repo: string): ParsedAddress => ({
  error: `${repo} looks like MLC weights outside WebLLM's prebuilt list: they need their model library (.wasm) as well, which one address cannot name. Load them through Cria's API with { mlc: { model, modelLib } }, or type the id of a prebuilt model (…-MLC).`,
});

export function parseModelAddress(text: string): ParsedAddress {
  const t = text.trim();
  if (t === '') return { error: 'Type or paste an address: a link to a .gguf file, a Hugging Face repository of an ONNX model (owner/name), or the id of a WebLLM model (…-MLC).' };
  if (MLC_ID.test(t)) return mlc(t);
  if (REPO_ID.test(t) && !t.split('/').some((p) => /^\.+$/.test(p))) {
    const [owner, name] = t.split('/') as [string, string];
    // WebLLM's prebuilt models live in mlc-ai's repositories, named by their ids
    if (MLC_ID.test(name)) return owner === 'mlc-ai' ? mlc(name) : customMlc(t);
    return { source: { onnx: { repo: t } }, label: t, format: 'onnx' };
  }
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
    if (MLC_ID.test(parts[1]!) && parts.length === 2) return parts[0] === 'mlc-ai' ? mlc(parts[1]!) : customMlc(repo);
    const revision = parts[2] === 'tree' ? parts.slice(3).join('/') : undefined;
    if (REPO_ID.test(repo)) return { source: { onnx: { repo, ...(revision && revision !== 'main' ? { revision } : {}) } }, label: repo, format: 'onnx' };
  }
  const last = parts.at(-1) ?? url.host;
  if (/\.onnx$/i.test(url.pathname)) return { source: { url: url.href }, label: hf && parts.length >= 2 ? `${parts[0]}/${parts[1]}` : last, format: 'onnx' };
  if (url.pathname.endsWith('/')) return { source: { onnx: { url: url.href } }, label: hf && parts.length >= 2 ? `${parts[0]}/${parts[1]}` : last, format: 'onnx' };
  return { source: { url: url.href }, label: last, format: 'gguf' };
}
