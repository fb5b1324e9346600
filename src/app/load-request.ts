/** What a view asks the models page to load (the `load-model` event's detail). */
import type { ModelSource } from '../client/index.ts';

export interface LoadRequest {
  /** what to load, or how to make it when asked (an embedded model is read from the app's files first) */
  source: ModelSource | (() => Promise<ModelSource>);
  label: string;
  /** the model's size in bytes, when known before the download (a catalogue entry, a local file) */
  bytes?: number;
  /** bytes of it already in the cache (a partial download) */
  storedBytes?: number;
  /** `bytes` is the catalogue's estimate */
  approximate?: boolean;
  /** this load writes into the cache (a URL, or a file with "keep in cache") */
  caches?: boolean;
}
