/**
 * What the widget says when something goes wrong: one designed message per
 * error code, in words for the person using the host page (the engine's own
 * message, which is written for developers, is shown under it in small type).
 */
import type { ErrorCode } from '../shared/errors.ts';

/** what the card's button does: load the model again, or start a new conversation */
export type Action = 'reload' | 'reset';

export interface DesignedMessage {
  title: string;
  body: string;
  action?: { kind: Action; label: string };
}

const RETRY = { kind: 'reload', label: 'Try again' } as const;

/**
 * `detail.stage === 'engine'`: the engine's worker itself did not start (engine-worker.ts);
 * `detail.attribute`: a bad-argument from one of the element's attributes (response-format.ts)
 */
export function designedMessage(code: ErrorCode | string, detail?: Record<string, unknown>): DesignedMessage {
  if (detail?.stage === 'engine') {
    return {
      title: 'The assistant couldn’t start',
      body: 'Its engine could not be loaded into this page. If you run this site: the server of widget.js must allow other sites to load it (CORS), and the page’s Content-Security-Policy must allow blob: workers.',
      action: RETRY,
    };
  }
  // an attribute of the element the page wrote (response-schema, backend, …): the site's owner must fix it
  if (code === 'bad-argument' && typeof detail?.attribute === 'string') {
    return {
      title: 'The assistant is not set up correctly',
      body: 'A setting of this assistant on the page has a mistake, so it cannot answer. The site’s owner needs to fix it (the details are below).',
    };
  }
  switch (code) {
    case 'webgpu-unavailable':
      return {
        title: 'This browser can’t run the assistant',
        body: 'The assistant runs entirely on your device and needs WebGPU, which this browser doesn’t offer here. Open this page in a recent Chrome or Edge on a computer, or turn WebGPU on in your browser’s settings, then reload the page.',
      };
    case 'device-lost':
      return {
        title: 'The graphics device was reset',
        body: 'Your browser restarted its GPU (this happens after sleep, a driver update or heavy use), and the model was unloaded with it. Loading it again takes a moment; it comes from this device’s storage, not the network.',
        action: { kind: 'reload', label: 'Load the model again' },
      };
    case 'limits':
    case 'out-of-memory':
      return {
        title: 'This device can’t hold the model',
        body: 'The graphics memory or limits of this device are too small for this model. Close other tabs and try again, or use a device with a more capable GPU.',
        action: RETRY,
      };
    case 'network':
      return {
        title: 'The model couldn’t be downloaded',
        body: 'Check your connection and try again. A download that was interrupted resumes where it stopped.',
        action: RETRY,
      };
    case 'storage-quota':
      return {
        title: 'Not enough storage space',
        body: 'The browser won’t let this site store the model. Free some disk space, or clear this site’s data in the browser settings, then try again.',
        action: RETRY,
      };
    case 'weights-corrupt':
      return {
        title: 'The stored model is damaged',
        body: 'Part of the model kept on this device didn’t match what was downloaded. Try again: the damaged parts are fetched again.',
        action: RETRY,
      };
    case 'bad-file':
    case 'unsupported-arch':
    case 'unsupported-type':
    case 'unsupported-tokenizer':
    case 'missing-tensor':
    case 'missing-key':
      return {
        title: 'This model can’t be used',
        body: 'The file isn’t a model the assistant can run. The site’s owner needs to choose another model.',
      };
    case 'context-overflow':
      return {
        title: 'The conversation is too long',
        body: 'The model can’t read this much text at once. Start a new conversation to keep going.',
        action: { kind: 'reset', label: 'New conversation' },
      };
    default:
      return {
        title: 'Something went wrong',
        body: 'The assistant stopped unexpectedly. Try again; if it keeps happening, reload the page.',
        action: RETRY,
      };
  }
}
